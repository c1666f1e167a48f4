import { CommandLineError, splitCommandLine } from './command-line.js';

describe(splitCommandLine.name, () => {
  it.each([
    ['condor_reconfig -daemon collector', ['condor_reconfig', '-daemon', 'collector']],
    ['  /usr/bin/x   a\tb  ', ['/usr/bin/x', 'a', 'b']],
    [`sudo -n 'a b' "c d" e\\ f`, ['sudo', '-n', 'a b', 'c d', 'e f']],
    [`x "a\\"b" 'c\\d' "e\\\\f" "g\\h"`, ['x', 'a"b', 'c\\d', 'e\\f', 'g\\h']],
    [`x '' "" a''b`, ['x', '', '', 'ab']],
    [`x 'a|b;c&d$e' "f|g" \\$h a#b -o=~x`, ['x', 'a|b;c&d$e', 'f|g', '$h', 'a#b', '-o=~x']],
    [`x "it's" 'say "hi"'`, ['x', "it's", 'say "hi"']],
  ])('splits %s', (line, argv) => {
    expect(splitCommandLine(line)).toEqual(argv);
  });

  it.each([
    [`x 'secret`, 'unbalanced single quote'],
    [`x "secret`, 'unbalanced double quote'],
    [`x "a\\"`, 'unbalanced double quote'],
    [`x secret\\`, 'ends with a backslash'],
    ['', 'names no command'],
    ['   ', 'names no command'],
    [`'' x`, 'names no command'],
    ['condor_reconfig && secret', 'shell character &'],
    ['a | b', 'shell character |'],
    ['a; b', 'shell character ;'],
    ['a > out', 'shell character >'],
    ['a $HOME', 'shell character $'],
    ['a `id`', 'shell character `'],
    ['a "$(id)"', 'expansion'],
    ['a *.conf', 'shell character *'],
    ['a ~/x', 'shell character ~'],
    ['a #comment', 'shell character #'],
  ])('refuses %s (%s) without quoting it', (line, why) => {
    let err: unknown;
    try {
      splitCommandLine(line);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(CommandLineError);
    expect((err as Error).message).toContain(why);
    expect((err as Error).message).not.toContain('secret');
  });
});
