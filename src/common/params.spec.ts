import type { PipeTransform } from '@nestjs/common';
import { DomainError } from './errors.js';
import { FactoryNamePipe, FrontendNamePipe, Hex16Pipe, IssuerIdPipe, JtiPipe, PlainNamePipe } from './params.js';

const KEY = `gk_${'a'.repeat(16)}_${'Z'.repeat(43)}`;
const HEX40 = 'f'.repeat(40);

/** What a pipe answers: the value the handler gets, or the refusal's code, field and message. */
function outcome(pipe: PipeTransform<string, string>, value: string) {
  try {
    return { value: pipe.transform(value, { type: 'param' }) as string };
  } catch (e) {
    if (!(e instanceof DomainError)) throw e;
    return { code: e.code, field: e.field, message: e.message };
  }
}

const credential = (field: string, code = 'VALIDATION_FAILED') => ({
  code,
  field,
  message: `${field} is shaped like a credential (an API key, ticket or token), not a name; nothing of it is kept`,
});

describe('path parameter pipes', () => {
  it.each<[string, string, PipeTransform<string, string>, object]>([
    // plain names
    ['entry', 'x'.repeat(128), PlainNamePipe('entry'), { value: 'x'.repeat(128) }],
    [
      'entry',
      'x'.repeat(129),
      PlainNamePipe('entry'),
      { code: 'VALIDATION_FAILED', field: 'entry', message: 'entry must match ^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$' },
    ],
    ['entry', 'a:b', PlainNamePipe('entry'), { code: 'VALIDATION_FAILED', field: 'entry' }],
    ['name', `eyJhbGciOiJI.eyJzdWIiOiJ4`, PlainNamePipe('name'), credential('name')],
    // factories and frontends may hold a colon; a frontend's name is at most 54 characters
    ['factory', `f${':'.repeat(127)}`, FactoryNamePipe, { value: `f${':'.repeat(127)}` }],
    ['factory', 'a b', FactoryNamePipe, { code: 'VALIDATION_FAILED', field: 'name', message: 'name is not a factory name' }],
    ['factory', KEY, FactoryNamePipe, credential('name')],
    ['frontend', `fe:${'x'.repeat(51)}`, FrontendNamePipe, { value: `fe:${'x'.repeat(51)}` }],
    ['frontend', `fe:${'x'.repeat(52)}`, FrontendNamePipe, { code: 'VALIDATION_FAILED', field: 'name', message: 'name is not a frontend name' }],
    ['frontend', HEX40, FrontendNamePipe, credential('name')],
    // issuer ids to store: at most 64 characters, never a credential's form
    ['issuer id', 'x'.repeat(64), IssuerIdPipe, { value: 'x'.repeat(64) }],
    ['issuer id', 'x'.repeat(65), IssuerIdPipe, { code: 'VALIDATION_FAILED', field: 'id', message: 'issuer id must match ^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$' }],
    ['issuer id', `gk_${'0'.repeat(16)}`, IssuerIdPipe, credential('id')],
    // hex ids
    ['renewal id', '0123456789abcdef', Hex16Pipe('id'), { value: '0123456789abcdef' }],
    ['renewal id', '0123456789ABCDEF', Hex16Pipe('id'), { code: 'VALIDATION_FAILED', field: 'id', message: 'id must be 16 hex digits' }],
    ['batch', 'xyz', Hex16Pipe('batch'), { code: 'VALIDATION_FAILED', field: 'batch', message: 'batch must be 16 hex digits' }],
    ['jti', 'f'.repeat(32), JtiPipe, { value: 'f'.repeat(32) }],
    ['jti', 'not-hex', JtiPipe, { code: 'INVALID_JTI', field: 'jti', message: 'jti must be 32 lowercase hex characters' }],
    ['jti', 'F'.repeat(32), JtiPipe, { code: 'INVALID_JTI', field: 'jti' }],
  ])('%s %j', (_kind, value, pipe, expected) => {
    expect(outcome(pipe, value)).toMatchObject(expected);
  });
});
