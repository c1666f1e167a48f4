import { classAdString, revocationExpr } from './classad.js';

const SIMPLE: Record<string, string> = { '\\': '\\', '"': '"', n: '\n', t: '\t', r: '\r', "'": "'" };

/**
 * A ClassAd string-literal scanner, independent of the code under test: reads one literal from
 * index 0 and returns the decoded value and the index just past its closing quote.
 */
function scanLiteral(text: string): { value: string; end: number } {
  if (text[0] !== '"') throw new Error('not a string literal');
  let value = '';
  let i = 1;
  while (i < text.length) {
    const ch = text[i];
    if (ch === '"') return { value, end: i + 1 };
    if (ch !== '\\') {
      value += ch;
      i++;
      continue;
    }
    const next = text[i + 1];
    const octal = /^[0-7]{1,3}/.exec(text.slice(i + 1, i + 4));
    if (octal) {
      // HTCondor's convert_escapes (src/classad/util.cpp) marks a string holding \0 invalid.
      if (parseInt(octal[0], 8) === 0) throw new Error(`NUL escape at ${i}`);
      value += String.fromCharCode(parseInt(octal[0], 8));
      i += 1 + octal[0].length;
    } else if (next !== undefined && next in SIMPLE) {
      value += SIMPLE[next];
      i += 2;
    } else {
      throw new Error(`bad escape at ${i}`);
    }
  }
  throw new Error('unterminated string literal');
}

/** The literal spans the whole text and decodes back to the input. */
function expectSafe(input: string): void {
  const out = classAdString(input);
  expect(scanLiteral(out)).toEqual({ value: input, end: out.length });
}

describe('classad', () => {
  describe(classAdString.name, () => {
    it('quotes plain text unchanged', () => {
      expect(classAdString('el7_osg35@frontend.example.org')).toBe('"el7_osg35@frontend.example.org"');
      expect(classAdString('')).toBe('""');
    });

    it('escapes double quote and backslash', () => {
      expect(classAdString('a"b\\c')).toBe(String.raw`"a\"b\\c"`);
      expect(classAdString('\\"')).toBe(String.raw`"\\\""`);
    });

    it('writes control characters as 3-digit octal escapes', () => {
      expect(classAdString('\n')).toBe(String.raw`"\012"`);
      expect(classAdString('\t')).toBe(String.raw`"\011"`);
      expect(classAdString('\x7f')).toBe(String.raw`"\177"`);
      expect(classAdString('a\r\x1fz')).toBe(String.raw`"a\015\037z"`);
      // A digit after an escape must not extend it: \0011 is \001 then "1".
      expect(classAdString('\x011')).toBe(String.raw`"\0011"`);
    });

    it('refuses NUL, which no ClassAd string literal can hold', () => {
      // "\000" makes HTCondor's lexer reject the literal (convert_escapes sets validStr = false),
      // and a parse error disables SEC_TOKEN_REVOCATION_EXPR altogether.
      expect(() => classAdString('a\x00b')).toThrow();
    });

    it('passes unicode through', () => {
      expect(classAdString('Zürich-站点-🚀')).toBe('"Zürich-站点-🚀"');
    });

    it.each([
      'x" || true || "',
      'x\\" || true || \\"',
      '\\',
      '"',
      '\\\\"\\',
      'a\nb"\x01\\\x7f"',
      '"; SEC_TOKEN_REVOCATION_EXPR = false; "',
      '\x011\x0177',
    ])('cannot be broken out of: %j', (input) => {
      expectSafe(input);
      const out = classAdString(input);
      expect(out.startsWith('"') && out.endsWith('"')).toBe(true);
      // Every inner quote is escaped: preceded by an odd number of backslashes.
      for (const m of out.slice(1, -1).matchAll(/(\\*)"/g)) expect(m[1].length % 2).toBe(1);
    });
  });

  describe(revocationExpr.name, () => {
    it('revokes nothing for an empty list', () => {
      expect(revocationExpr([])).toBe('false');
    });

    it('ORs one meta-equality per jti', () => {
      expect(revocationExpr([{ jti: 'a' }])).toBe('jti =?= "a"');
      expect(revocationExpr([{ jti: 'a' }, { jti: 'b' }])).toBe('jti =?= "a" || jti =?= "b"');
    });

    it('quotes hostile jtis', () => {
      expect(revocationExpr([{ jti: 'x" || true || "' }])).toBe(String.raw`jti =?= "x\" || true || \""`);
    });
  });
});
