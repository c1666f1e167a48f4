import { readFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { CliError, EXIT, localError, usageError } from './exit-codes.js';
import { readApiKeyFile } from './secret-file.js';

export interface Connection {
  url: string;
  apiKeyFile?: string;
  ca?: string;
}

export interface RawResponse {
  status: number;
  contentType: string;
  body: Buffer;
}

/** The service refused (4xx) or failed (5xx): its stable code and message, never a secret (the service sends none). */
export class ServiceError extends CliError {
  constructor(
    readonly status: number,
    readonly code: string,
    readonly detail: string,
  ) {
    super(status < 500 ? EXIT.REFUSED : EXIT.UNAVAILABLE, `${status < 500 ? 'refused' : 'service error'}: ${status} ${code}: ${detail}`);
  }
}

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|\[::1\]|localhost)$/;

/** A small REST client for /api/v1: the bearer key from its file, JSON in and out, the CA bundle for TLS. */
export class RestClient {
  private readonly base: URL;
  private readonly ca?: Buffer;
  private key?: string;

  constructor(private readonly conn: Connection) {
    let u: URL;
    try {
      u = new URL(conn.url);
    } catch {
      throw usageError(`--url (GLIDEKEY_URL) is not a URL`);
    }
    if (u.protocol !== 'http:' && u.protocol !== 'https:') throw usageError('--url (GLIDEKEY_URL) must start with https:// (or http:// on loopback)');
    if (u.username || u.password || u.search || u.hash) throw usageError('--url (GLIDEKEY_URL) must be a base URL without credentials, query or fragment');
    // The API key travels in a header: over plain http off this host it would cross the network in clear.
    if (u.protocol === 'http:' && !LOOPBACK.test(u.hostname) && process.env.GLIDEKEY_ALLOW_HTTP !== '1') {
      throw usageError(
        `--url ${u.origin} is plain http to another host: the API key would cross the network in clear; use https:// (GLIDEKEY_ALLOW_HTTP=1 only for tests)`,
      );
    }
    this.base = u;
    if (conn.ca) {
      try {
        this.ca = readFileSync(conn.ca);
      } catch (err) {
        throw localError(`cannot read the CA bundle ${conn.ca}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`);
      }
    }
  }

  private apiKey(): string {
    if (this.key) return this.key;
    if (!this.conn.apiKeyFile)
      throw localError('no API key: set GLIDEKEY_API_KEY_FILE or give --api-key-file <file> (a 0600 file; the key is never taken on the command line)');
    return (this.key = readApiKeyFile(this.conn.apiKeyFile));
  }

  /** One request under /api/v1; the body, when given, is sent as JSON (always for POST/PUT/PATCH, `{}` at least). */
  async raw(method: string, path: string, body?: unknown): Promise<RawResponse> {
    const url = new URL(this.base.pathname.replace(/\/$/, '') + '/api/v1' + path, this.base);
    const headers: Record<string, string> = { authorization: `Bearer ${this.apiKey()}`, accept: 'application/json, application/octet-stream, text/plain' };
    let payload: Buffer | undefined;
    if (['POST', 'PUT', 'PATCH'].includes(method)) {
      payload = Buffer.from(JSON.stringify(body ?? {}));
      headers['content-type'] = 'application/json';
      headers['content-length'] = String(payload.length);
    }
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
    return new Promise((ok, fail) => {
      const req = send(url, { method, headers, ...(url.protocol === 'https:' && this.ca ? { ca: this.ca } : {}), timeout: 60_000 }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (d: Buffer) => chunks.push(d));
        res.on('error', (err) => fail(unreachable(this.base, err)));
        res.on('end', () => ok({ status: res.statusCode ?? 0, contentType: String(res.headers['content-type'] ?? ''), body: Buffer.concat(chunks) }));
      });
      req.on('timeout', () => req.destroy(Object.assign(new Error('no answer within 60 s'), { code: 'ETIMEDOUT' })));
      req.on('error', (err) => fail(unreachable(this.base, err)));
      req.end(payload);
    });
  }

  /** A request whose 2xx answer is returned (parsed JSON, or text/bytes as the service sent them); anything else throws ServiceError. */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  async call<T = any>(method: string, path: string, body?: unknown): Promise<{ status: number; data: T; body: Buffer }> {
    const res = await this.raw(method, path, body);
    if (res.status < 200 || res.status > 299) throw serviceError(res);
    const data = res.contentType.startsWith('application/json') && res.body.length ? JSON.parse(res.body.toString('utf8')) : undefined;
    return { status: res.status, data: data as T, body: res.body };
  }
}

export function serviceError(res: RawResponse): ServiceError {
  let code = `HTTP_${res.status}`;
  let message = 'no error body';
  try {
    const e = JSON.parse(res.body.toString('utf8')).error;
    if (typeof e?.code === 'string') code = e.code;
    if (typeof e?.message === 'string') message = e.message;
  } catch {
    // not JSON: keep the status alone, never echo an unknown body
  }
  return new ServiceError(res.status, code, message);
}

function unreachable(base: URL, err: Error): CliError {
  const code = (err as NodeJS.ErrnoException).code ?? err.message;
  return new CliError(EXIT.UNAVAILABLE, `cannot reach the service at ${base.origin}: ${code}`);
}
