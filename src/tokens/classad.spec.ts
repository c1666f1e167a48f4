import { MAX_EXPR_DEPTH, oldClassAdString, revocationExpr, UnrepresentableString } from './classad.js';
import { checkRevocationFile, RevocationCheckFailed } from './revocation-check.js';
import { configMacros, depthOf, evaluate, lexOld, parseOld, readConfig, revokes } from './old-classad.js';

/** The value a collector would see for `s` written as the whole SEC_TOKEN_REVOCATION_EXPR line. */
function readBack(s: string): string {
  const line = `SEC_TOKEN_REVOCATION_EXPR = ${oldClassAdString(s)}\n`;
  const [a, ...rest] = readConfig(`# header\n${line}`);
  expect(rest).toEqual([]);
  expect(a.macros).toEqual([]);
  const v = evaluate(parseOld(a.value), {});
  if (v.t !== 'str') throw new Error(`not a string: ${JSON.stringify(v)}`);
  return v.v;
}

/** A deterministic generator, so a failure names a reproducible case. */
function rng(seed: number): () => number {
  let x = seed >>> 0;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x / 2 ** 32;
  };
}

function randomCodePoint(r: () => number): string {
  const pick = r();
  let cp: number;
  if (pick < 0.35) cp = 1 + Math.floor(r() * 127);
  else if (pick < 0.5) cp = ['\\', '"', '$', '(', ')', '\n', ' ', '\t', "'", '{', '}', ','][Math.floor(r() * 12)].codePointAt(0)!;
  else if (pick < 0.85) cp = 0x80 + Math.floor(r() * (0xd800 - 0x80));
  else if (pick < 0.93) cp = 0xe000 + Math.floor(r() * 0x2000);
  else cp = 0x10000 + Math.floor(r() * 0xfffff);
  return String.fromCodePoint(cp);
}

const DOLLAR_FORMS = [
  '$',
  '$$',
  '$(',
  '$()',
  '$(DOLLAR)',
  '$(dollar)',
  '$(FULL_HOSTNAME)',
  '$(a:b)',
  '$(X:$(Y))',
  '$ENV(HOME)',
  '$ENV(HOME:x)',
  '$F(x)',
  '$Fpnx(x)',
  '$Fqa(x)',
  '$INT(x)',
  '$INT(x,%d)',
  '$REAL(x)',
  '$RANDOM_CHOICE(a,b)',
  '$RANDOM_INTEGER(1,9)',
  '$CHOICE(0,a,b)',
  '$SUBSTR(x,1,2)',
  '$STRING(x)',
  '$EVAL(x)',
  '$BASENAME(x)',
  '$DIRNAME(x)',
  '$$(X)',
  '$$([1+1])',
  '$x',
  '$_(x)',
  '\\$(X)',
  '$\\(X)',
  '$"(X)',
];

/** At least 10,000 strings: every ASCII character in every position, \ and " runs, $ forms, random unicode. */
function corpus(): string[] {
  const out = new Set<string>(['', ' ', '\\', '"', '\\"', '"\\', '\n', '\\\n', 'a\\', 'a\\\\', '\\\\\\', 'abc\\"', '\r', '\t', '\x7f']);
  for (let c = 1; c < 128; c++) {
    const ch = String.fromCharCode(c);
    for (const s of [
      ch,
      ch + ch,
      ch + ch + ch,
      `${ch}ab`,
      `a${ch}b`,
      `ab${ch}`,
      `${ch}\\`,
      `\\${ch}`,
      `${ch}"`,
      `"${ch}`,
      `$${ch}`,
      `${ch}$`,
      `${ch}@fe.example.org`,
    ])
      out.add(s);
  }
  const alphabet = ['\\', '"', 'a'];
  const runs = (prefix: string, n: number) => {
    out.add(prefix);
    if (n === 0) return;
    for (const a of alphabet) runs(prefix + a, n - 1);
  };
  runs('', 7);
  for (const f of DOLLAR_FORMS) for (const s of [f, `a${f}`, `${f}b`, `a${f}b`, `${f}${f}`, `${f}\\`, `"${f}"`, `${f}@fe`]) out.add(s);
  const r = rng(20261202);
  while (out.size < 12_000) {
    let s = '';
    const n = Math.floor(r() * 24);
    for (let i = 0; i < n; i++) s += randomCodePoint(r);
    out.add(s);
  }
  return [...out];
}

/** What glidekey used to write: new-syntax escapes. Kept here to show the model reads it as the collector did. */
function newSyntaxString(s: string): string {
  let out = '"';
  for (const ch of s) out += ch === '\\' ? '\\\\' : ch === '"' ? '\\"' : ch === '$' ? '\\044' : ch;
  return out + '"';
}

describe('old ClassAd model', () => {
  it('reads strings as the doc says the old lexer does', () => {
    const value = (text: string) => (lexOld(text)[0] as { v: string }).v;
    expect(value(String.raw`"a\\b"`)).toBe(String.raw`a\\b`);
    expect(value(String.raw`"\044"`)).toBe(String.raw`\044`);
    expect(value(String.raw`"\n"`)).toBe(String.raw`\n`);
    expect(value(String.raw`"a\"b"`)).toBe('a"b');
    expect(value(String.raw`"a\\"b"`)).toBe(String.raw`a\"b`);
    expect(value(String.raw`"\""`)).toBe('"');
    // A \" that ends the line ends the string with the backslash kept.
    expect(value(String.raw`"abc\"`)).toBe('abc\\');
    expect(value('"abc\\"\nx')).toBe('abc\\');
    expect(() => lexOld('"abc')).toThrow(SyntaxError);
    expect(() => lexOld(String.raw`"abc\" || true`)).toThrow(SyntaxError);
  });

  it('reads config lines as the doc says the config reader does', () => {
    expect(readConfig('  A = x  \\\n  y\n# c \\\nB = 1\n')).toEqual([
      { name: 'A', value: 'x  y', macros: [] },
      { name: 'B', value: '1', macros: [] },
    ]);
    expect(configMacros('a$(B)c$ENV(X)$$(Y)$Fpnx(z)$ "$" $1 $_x')).toEqual(['$(', '$ENV(', '$$(', '$(', '$Fpnx(']);
  });

  it('reproduces what the real collector did with the new-syntax escaper', () => {
    // `a$b@x` revoked `a\044b@x` instead.
    expect(evaluate(parseOld(newSyntaxString('a$b@x')), {})).toEqual({ t: 'str', v: String.raw`a\044b@x` });
    // A subject ending in \ made the value unparsable: the collector then revoked nothing.
    const broken = `(sub =?= ${newSyntaxString('ops\\')} && iat <= 5) || jti =?= "j1"`;
    expect(() => parseOld(broken)).toThrow(SyntaxError);
    // And `"` before a backslash reads as another identity too.
    expect(evaluate(parseOld(newSyntaxString('a\\"b')), {})).toEqual({ t: 'str', v: 'a\\\\"b' });
  });

  it('evaluates with ClassAd three-valued logic where HTCondor revokes', () => {
    const ad = { sub: 'u@x', iat: 10 };
    expect(revokes(parseOld('false'), ad)).toBe(false);
    expect(revokes(parseOld('missing'), ad)).toBe(true); // UNDEFINED revokes
    expect(revokes(parseOld('"a" + 1'), ad)).toBe(true); // ERROR revokes
    expect(revokes(parseOld('sub =?= "U@x"'), ad)).toBe(false); // =?= is case-sensitive
    expect(revokes(parseOld('sub == "U@x"'), ad)).toBe(true); // == is not
    expect(revokes(parseOld('(missing =?= "u@x" && iat <= 20)'), ad)).toBe(false);
    expect(revokes(parseOld('identicalMember(jti, {"a", "b"})'), ad)).toBe(false); // no jti: false, not UNDEFINED
    expect(revokes(parseOld('identicalMember(jti, {"a", "b"})'), { jti: 'b' })).toBe(true);
    expect(revokes(parseOld('identicalMember(jti, {"a", "b"})'), { jti: 'B' })).toBe(false);
    expect(evaluate(parseOld('substr("ab\\.", 0, -1)'), {})).toEqual({ t: 'str', v: 'ab\\' });
    expect(evaluate(parseOld('strcat("a", formatTime(0, "%n"), "b")'), {})).toEqual({ t: 'str', v: 'a\nb' });
  });
});

describe(oldClassAdString.name, () => {
  const strings = corpus();

  it(`reads back exactly through the config reader and the old lexer, for all ${strings.length} corpus strings`, () => {
    expect(strings.length).toBeGreaterThanOrEqual(10_000);
    const wrong = strings.filter((s) => readBack(s) !== s);
    expect(wrong).toEqual([]);
  });

  it('writes plain identities as one plain literal', () => {
    expect(oldClassAdString('el7_osg35@frontend.example.org')).toBe('"el7_osg35@frontend.example.org"');
    expect(oldClassAdString('')).toBe('""');
    expect(oldClassAdString('Zürich-站点-🚀')).toBe('"Zürich-站点-🚀"');
  });

  it('never lets a $ start a config macro, a \\ end the line, or a line feed split it', () => {
    for (const s of strings) {
      const out = oldClassAdString(s);
      expect(out).not.toMatch(/\$[^"]/);
      expect(out.includes('\n')).toBe(false);
      expect(out.endsWith('\\')).toBe(false);
    }
    expect(oldClassAdString('a$(X)b')).toBe('strcat("a$", "(X)b")');
    expect(oldClassAdString('we"ird\\')).toBe(String.raw`substr("we\"ird\.", 0, -1)`);
    expect(oldClassAdString('a\nb')).toBe('strcat("a", formatTime(0, "%n"), "b")');
  });

  it('refuses only what cannot reach HTCondor: NUL and unpaired surrogates', () => {
    expect(() => oldClassAdString('a\0b')).toThrow(UnrepresentableString);
    expect(() => oldClassAdString('a\ud800b')).toThrow(UnrepresentableString);
    expect(readBack('\u{1F680}')).toBe('\u{1F680}');
  });
});

describe(revocationExpr.name, () => {
  const check = (jtis: string[], subjects: { subject: string; issuedBefore: number }[]) => {
    const expr = revocationExpr(
      jtis.map((jti) => ({ jti })),
      subjects,
    );
    const depth = checkRevocationFile(`SEC_TOKEN_REVOCATION_EXPR = ${expr}\n`, { jtis, subjects });
    return { expr, depth, tree: parseOld(expr) };
  };

  it('revokes nothing for an empty set', () => {
    expect(revocationExpr([])).toBe('false');
    expect(check([], []).depth).toBe(1);
  });

  it('keeps the one-jti form and lists more jtis with identicalMember', () => {
    expect(revocationExpr([{ jti: 'a' }])).toBe('jti =?= "a"');
    expect(revocationExpr([{ jti: 'b' }, { jti: 'a' }])).toBe('identicalMember(jti, {"a", "b"})');
    expect(revocationExpr([{ jti: 'a' }], [{ subject: 'u@x', issuedBefore: 5 }])).toBe('jti =?= "a" || (sub =?= "u@x" && iat <= 5)');
  });

  it('lets no subject change what another term means (2,000 random groups of corpus subjects)', () => {
    const strings = corpus();
    const r = rng(7);
    for (let g = 0; g < 2_000; g++) {
      const subjects = Array.from({ length: 1 + Math.floor(r() * 5) }, () => ({
        subject: strings[Math.floor(r() * strings.length)],
        issuedBefore: 1_000 + Math.floor(r() * 1_000),
      }));
      const jtis = Array.from({ length: Math.floor(r() * 3) }, (_, i) => strings[Math.floor(r() * strings.length)] + `#${i}`);
      const { tree } = check(jtis, subjects);
      const latest = new Map<string, number>();
      for (const s of subjects) latest.set(s.subject, Math.max(latest.get(s.subject) ?? 0, s.issuedBefore));
      for (const [subject, cutoff] of latest) {
        expect(revokes(tree, { sub: subject, iat: cutoff, jti: 'unlisted' })).toBe(true);
        expect(revokes(tree, { sub: subject, iat: cutoff + 1, jti: 'unlisted' })).toBe(false);
      }
      for (const jti of jtis) expect(revokes(tree, { sub: 'innocent@fe', iat: 1, jti })).toBe(true);
      expect(revokes(tree, { sub: 'innocent@fe', iat: 1, jti: 'unlisted' })).toBe(false);
      expect(revokes(tree, { iat: 1 })).toBe(false);
    }
  });

  it(`stays within depth ${MAX_EXPR_DEPTH} and evaluates correctly with 100,000 jtis and 1,000 subjects`, () => {
    const jtis = Array.from({ length: 100_000 }, (_, i) => i.toString(16).padStart(32, '0'));
    const subjects = Array.from({ length: 1_000 }, (_, i) => ({ subject: `site${i}$(X)\\"@fe.example.org\\`, issuedBefore: 1_700_000_000 + i }));
    const { expr, depth, tree } = check(jtis, subjects);
    // 2 levels per level of the balanced subject tree (ceil(log2 1000) = 10), the deepest leaf's 7 (strcat, substr, -1), the top ||.
    expect(depth).toBe(28);
    expect(depth).toBeLessThanOrEqual(MAX_EXPR_DEPTH);
    expect(Buffer.byteLength(expr)).toBeLessThan(8 * 1024 * 1024);
    for (let i = 0; i < 100_000; i += 997) expect(revokes(tree, { jti: jtis[i], sub: 'x@y', iat: 1 })).toBe(true);
    for (let i = 0; i < 100; i++) expect(revokes(tree, { jti: `f${i}`.padStart(32, 'e'), sub: 'x@y', iat: 1 })).toBe(false);
    // Every subject is decoded by the check above; evaluation (a scan of the 100,000-entry list each) samples them.
    for (const s of subjects.filter((_, i) => i % 7 === 0 || i === subjects.length - 1)) {
      expect(revokes(tree, { sub: s.subject, iat: s.issuedBefore, jti: 'none' })).toBe(true);
      expect(revokes(tree, { sub: s.subject, iat: s.issuedBefore + 1, jti: 'none' })).toBe(false);
    }
  });

  it('the old flat chain is refused by the check: 420 terms are past what HTCondor evaluates', () => {
    const flat = Array.from({ length: 420 }, (_, i) => `jti =?= "j${i}"`).join(' || ');
    expect(depthOf(parseOld(flat))).toBeGreaterThan(400);
    expect(() => checkRevocationFile(`SEC_TOKEN_REVOCATION_EXPR = ${flat}\n`, { jtis: Array.from({ length: 420 }, (_, i) => `j${i}`), subjects: [] })).toThrow(
      RevocationCheckFailed,
    );
  });

  it('the check refuses anything that does not read back as meant', () => {
    const ok = { jtis: ['a'], subjects: [{ subject: 'u@x', issuedBefore: 5 }] };
    const bad = [
      'SEC_TOKEN_REVOCATION_EXPR = jti =?= "a" || (sub =?= "u@x" && iat <= 5) || true\n',
      'SEC_TOKEN_REVOCATION_EXPR = jti =?= "a" || (sub =?= "u@x" && iat <= 6)\n',
      'SEC_TOKEN_REVOCATION_EXPR = jti =?= "a$(X)" || (sub =?= "u@x" && iat <= 5)\n',
      'SEC_TOKEN_REVOCATION_EXPR = jti =?= "a" || (sub =?= "u@x\\" && iat <= 5)\n',
      'SEC_TOKEN_REVOCATION_EXPR = jti =?= "a" || (sub =?= "u@x" && iat <= 5) \\\nFOO = 1\n',
      'SEC_TOKEN_REVOCATION_EXPR = jti =?= "a" || (sub =?= strcat("u@", sub) && iat <= 5)\n',
      'SEC_TOKEN_REVOCATION_EXPR = jti =?= "a"\nSEC_TOKEN_REVOCATION_EXPR = false\n',
    ];
    expect(checkRevocationFile('SEC_TOKEN_REVOCATION_EXPR = jti =?= "a" || (sub =?= "u@x" && iat <= 5)\n', ok)).toBe(5);
    for (const content of bad) expect(() => checkRevocationFile(content, ok)).toThrow(RevocationCheckFailed);
  });

  it('the jti comparison holds in any order, and the fast paths read as the general ones', () => {
    const file = (list: string) => `SEC_TOKEN_REVOCATION_EXPR = identicalMember(jti, {${list}})\n`;
    const want = { jtis: ['b', 'a', 'c', 'a'], subjects: [] };
    // revocationExpr's ascending order, and any other order (compared by sets).
    expect(checkRevocationFile(file('"a", "b", "c"'), want)).toBe(3);
    expect(checkRevocationFile(file('"c", "a", "b"'), want)).toBe(3);
    for (const list of ['"a", "b"', '"a", "b", "c", "d"', '"a", "b", "b", "c"', '"c", "a", "b", "a"', '"a", "b", "d"', '"c", "b", "d"']) {
      expect(() => checkRevocationFile(file(list), want)).toThrow(RevocationCheckFailed);
    }
    // Among many plain jtis, one that needs care is still written by the careful encoder.
    const jtis = Array.from({ length: 2000 }, (_, i) => `j${i}`);
    for (const odd of ['q"x', 'q\\', 'q$(X)', 'q\nz']) {
      const all = [...jtis, odd];
      const expr = revocationExpr(all.map((jti) => ({ jti })));
      expect(expr).toContain(oldClassAdString(odd));
      expect(checkRevocationFile(`SEC_TOKEN_REVOCATION_EXPR = ${expr}\n`, { jtis: all, subjects: [] })).toBe(depthOf(parseOld(expr)));
    }
    expect(() => revocationExpr([...jtis, 'a\0b'].map((jti) => ({ jti })))).toThrow(UnrepresentableString);
    expect(() => revocationExpr([...jtis, 'a\ud800b'].map((jti) => ({ jti })))).toThrow(UnrepresentableString);
    // The lexer reads the UTF-8 bytes: a lone surrogate in the text is U+FFFD there, a pair is itself.
    expect(lexOld('"a\ud800b"')[0]).toEqual({ t: 'str', v: 'a\ufffdb' });
    expect(lexOld('"a\ud83d\ude00b"')[0]).toEqual({ t: 'str', v: 'a\ud83d\ude00b' });
    expect(() => checkRevocationFile('SEC_TOKEN_REVOCATION_EXPR = jti =?= "a\ud800b"\n', { jtis: ['a\ud800b'], subjects: [] })).toThrow(RevocationCheckFailed);
    expect(() => lexOld('é')).toThrow('unexpected byte 0xc3');
  });
});
