export class CommandLineError extends Error {}

/** Characters a shell would act on; without a shell they would be passed on literally, which is never what was meant. */
const SHELL_ONLY = new Set(['|', '&', ';', '<', '>', '(', ')', '$', '`', '*', '?', '[']);
/** Special to a shell only at the start of a word. */
const SHELL_WORD_START = new Set(['~', '#']);

/**
 * Splits a command line into argv as a POSIX shell splits words, and nothing more: whitespace
 * separates words, '...' is literal, "..." is literal except \" \\ \$ \` and \<newline>, and a
 * backslash outside quotes takes the next character literally. Unbalanced quotes, a trailing
 * backslash and unquoted shell operators or expansions are refused. Error messages never quote the
 * line (it may hold a password).
 */
export function splitCommandLine(line: string): string[] {
  const out: string[] = [];
  let word: string | null = null;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (c === ' ' || c === '\t' || c === '\n') {
      if (word !== null) out.push(word);
      word = null;
    } else if (c === "'") {
      const end = line.indexOf("'", i + 1);
      if (end < 0) throw new CommandLineError('has an unbalanced single quote');
      word = (word ?? '') + line.slice(i + 1, end);
      i = end;
    } else if (c === '"') {
      word ??= '';
      for (i++; ; i++) {
        if (i >= line.length) throw new CommandLineError('has an unbalanced double quote');
        const d = line[i];
        if (d === '"') break;
        if (d === '\\' && i + 1 < line.length && '"\\$`\n'.includes(line[i + 1])) {
          i++;
          if (line[i] !== '\n') word += line[i];
        } else if (d === '$' || d === '`') {
          throw new CommandLineError('uses an expansion ($ or `) inside double quotes; it runs without a shell: put the value in literally or use a script');
        } else {
          word += d;
        }
      }
    } else if (c === '\\') {
      if (i + 1 >= line.length) throw new CommandLineError('ends with a backslash');
      i++;
      if (line[i] !== '\n') word = (word ?? '') + line[i];
    } else if (SHELL_ONLY.has(c) || (word === null && SHELL_WORD_START.has(c))) {
      throw new CommandLineError(`uses the shell character ${c} unquoted; it runs without a shell: quote it, or put the pipeline in a script`);
    } else {
      word = (word ?? '') + c;
    }
  }
  if (word !== null) out.push(word);
  if (!out.length || out[0] === '') throw new CommandLineError('names no command');
  return out;
}
