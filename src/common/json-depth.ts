/** Deepest nesting of objects and arrays a request body may have; glidekey's own bodies need about 5. */
export const MAX_JSON_DEPTH = 32;

/**
 * Whether JSON text nests objects/arrays deeper than `max`, found by one linear scan without
 * recursion, before JSON.parse: a 20 KB body of `[[[[...` would otherwise reach the recursive
 * validators and stall the event loop (or overflow the stack) before it could be refused.
 * Brackets inside strings do not count; malformed text is left for JSON.parse to refuse.
 */
export function nestsDeeperThan(text: string, max: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c)
        i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) {
      if (++depth > max) return true;
    } else if (c === 0x7d || c === 0x5d) depth--;
  }
  return false;
}
