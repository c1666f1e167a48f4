import { OptionSpecs, OptionValues } from './args.js';
import { RestClient } from './http-client.js';

export interface Context {
  opts: OptionValues;
  args: string[];
  /** --json: machine output on stdout. */
  json: boolean;
  /** The REST client, built on first use (a verb that works offline never reads the key file). */
  api(): RestClient;
}

export interface Verb {
  /** The arguments after `glidekey <noun> <verb>`, for usage lines. */
  usage: string;
  summary: string;
  options?: OptionSpecs;
  /** Needs no service (token list, config check). */
  offline?: boolean;
  /** More lines for --help. */
  details?: string;
  run(ctx: Context): Promise<number>;
}

export interface Noun {
  summary: string;
  verbs: Record<string, Verb>;
}
