/**
 * The top-level members of a JSON object text, each with the exact text of its value, or
 * undefined when the text is not one object or names a member twice (JSON.parse keeps the last
 * of two, other parsers the first: a token must not mean two things). A small tokenizer, not a
 * regex, so a nested `"exp":5` is never mistaken for the top-level `exp`.
 */
export function topLevelMembers(text: string): Map<string, string> | undefined {
  let i = 0;
  const ws = () => {
    while (i < text.length && (text[i] === ' ' || text[i] === '\t' || text[i] === '\n' || text[i] === '\r')) i++;
  };
  /** Skips a string starting at text[i] === '"'; returns its raw text including quotes. */
  const str = (): string | undefined => {
    const start = i++;
    while (i < text.length) {
      const c = text[i++];
      if (c === '\\') i++;
      else if (c === '"') return text.slice(start, i);
    }
    return undefined;
  };
  /** Skips one value of any kind; returns its raw text. */
  const value = (): string | undefined => {
    const start = i;
    if (text[i] === '"') return str();
    if (text[i] === '{' || text[i] === '[') {
      let depth = 0;
      while (i < text.length) {
        const c = text[i];
        if (c === '"') {
          if (str() === undefined) return undefined;
          continue;
        }
        i++;
        if (c === '{' || c === '[') depth++;
        else if ((c === '}' || c === ']') && --depth === 0) return text.slice(start, i);
      }
      return undefined;
    }
    while (i < text.length && !',}]'.includes(text[i]) && !' \t\n\r'.includes(text[i])) i++;
    return i > start ? text.slice(start, i) : undefined;
  };

  const out = new Map<string, string>();
  ws();
  if (text[i++] !== '{') return undefined;
  ws();
  if (text[i] === '}') {
    i++;
    ws();
    return i === text.length ? out : undefined;
  }
  for (;;) {
    ws();
    if (text[i] !== '"') return undefined;
    const rawName = str();
    if (rawName === undefined) return undefined;
    let name: string;
    try {
      name = JSON.parse(rawName) as string;
    } catch {
      return undefined;
    }
    ws();
    if (text[i++] !== ':') return undefined;
    ws();
    const v = value();
    if (v === undefined || out.has(name)) return undefined;
    out.set(name, v);
    ws();
    const sep = text[i++];
    if (sep === '}') break;
    if (sep !== ',') return undefined;
  }
  ws();
  return i === text.length ? out : undefined;
}

/** True when a raw JSON number is written as a plain integer: no fraction, no exponent (HTCondor's parser refuses 1.7e9). */
export const isIntegerLiteral = (raw: string | undefined) => raw !== undefined && /^-?(0|[1-9]\d*)$/.test(raw);
