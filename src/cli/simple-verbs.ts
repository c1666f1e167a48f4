import { Column, json, keyValues, note, out, table } from './output.js';
import { Context, Verb } from './command.js';
import { EXIT, usageError } from './exit-codes.js';

export const enc = encodeURIComponent;

export function oneArg(ctx: Context, what: string): string {
  const [v, extra] = ctx.args;
  if (!v || extra) throw usageError(`give one ${what}`);
  return v;
}

/** A GET of a list shown as a table (or JSON). */
export function listVerb<T>(summary: string, path: string, columns: Column<T>[]): Verb {
  return {
    usage: '',
    summary,
    async run(ctx) {
      if (ctx.args.length) throw usageError(`unexpected argument ${ctx.args[0]}`);
      const { data } = await ctx.api().call<T[]>('GET', path);
      if (ctx.json) json(data);
      else out(table(data, columns));
      return EXIT.OK;
    },
  };
}

/** A GET of one named thing, shown as key: value lines. */
export function showVerb(summary: string, what: string, path: (name: string) => string): Verb {
  return {
    usage: `<${what}>`,
    summary,
    async run(ctx) {
      const { data } = await ctx.api().call('GET', path(oneArg(ctx, what)));
      if (ctx.json) json(data);
      else out(keyValues(data as Record<string, unknown>));
      return EXIT.OK;
    },
  };
}

/** A DELETE of one named thing. */
export function deleteVerb(summary: string, what: string, path: (name: string) => string): Verb {
  return {
    usage: `<${what}>`,
    summary,
    async run(ctx) {
      const name = oneArg(ctx, what);
      await ctx.api().call('DELETE', path(name));
      if (ctx.json) json({ deleted: name });
      else note(`deleted ${what} ${name}`);
      return EXIT.OK;
    },
  };
}

/** Prints a created/replaced object: JSON, or key: value lines. */
export function printResult(ctx: Context, data: unknown): number {
  if (ctx.json) json(data);
  else out(keyValues(data as Record<string, unknown>));
  return EXIT.OK;
}
