/**
 * The CLI's exit codes, one meaning each, the same for the host verbs (apikey, backup) and the
 * REST verbs, so a script can tell a typo from a refusal from an outage.
 */
export const EXIT = {
  OK: 0,
  /** A local problem: the API key file, a file to read or write, the host verbs' configuration or database. */
  LOCAL: 1,
  /** Bad arguments: unknown verb or option, a missing or malformed value. */
  USAGE: 2,
  /** The service refused the request (4xx): its error code and message are printed. */
  REFUSED: 3,
  /** The service failed (5xx) or could not be reached (connection, TLS, timeout). */
  UNAVAILABLE: 4,
  /** A check came out negative: `token verify` found a token invalid, `config check` an invalid setting. */
  CHECK_FAILED: 5,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** An error that ends the command with `exit` and prints `message` (never a secret) on stderr. */
export class CliError extends Error {
  constructor(
    readonly exit: ExitCode,
    message: string,
  ) {
    super(message);
  }
}

export const usageError = (message: string) => new CliError(EXIT.USAGE, message);
export const localError = (message: string) => new CliError(EXIT.LOCAL, message);
