import { ApiKeyRefPipe } from './api-key.secret.js';

describe('the {key} path parameter pipe', () => {
  it.each([
    // a whole key is taken as its id (a leaked key can be revoked by pasting it); anything else as at most 64 characters
    [`gk_${'a'.repeat(16)}_${'Z'.repeat(43)}`, 'a'.repeat(16)],
    ['ops', 'ops'],
    ['x'.repeat(100), 'x'.repeat(64)],
  ])('%j is looked up as %j', (value, idOrName) => {
    expect(ApiKeyRefPipe.transform(value, { type: 'param' })).toBe(idOrName);
  });
});
