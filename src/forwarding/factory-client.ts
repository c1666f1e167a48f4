import { Injectable } from '@nestjs/common';
import { z } from 'zod';
import { PLAIN_NAME } from '../common/names.js';
import { Settings } from '../config/settings.js';
import type { Envelope } from '../protocol/envelope.js';

/** A factory's entry as its GET /factory/entries shows it: untrusted input, checked field by field. */
const remoteEntry = z.object({
  name: z.string().regex(PLAIN_NAME),
  site: z.string().regex(PLAIN_NAME),
  gatekeeper: z.string().min(1).max(255),
  trustDomain: z.string().min(1).max(64),
  authMethod: z.string().min(1).max(128),
  condorVersion: z.string().max(64).nullable(),
  securityClass: z.string().max(64).nullable(),
});
export type RemoteEntry = z.infer<typeof remoteEntry>;

const deliveryResult = z.object({
  entry: z.string(),
  type: z.enum(['idtoken', 'scitoken']),
  version: z.number(),
  result: z.enum(['stored', 'unchanged', 'withdrawn', 'refused']),
  code: z.string().max(64).optional(),
});
export type DeliveryResult = z.infer<typeof deliveryResult>;
const deliveryResponse = z.object({ id: z.string(), results: z.array(deliveryResult) });

/** A failed call to a factory: a short code (UNREACHABLE, TIMEOUT, HTTP_503, the factory's error code ...). */
export class FactoryCallError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

const MAX_RESPONSE = 8 * 1024 * 1024;

/** Outbound HTTP to factories: their entries, and envelopes. One place for timeouts and parsing. */
@Injectable()
export class FactoryClient {
  constructor(private readonly settings: Settings) {}

  async entries(baseUrl: string, apiKey: string): Promise<RemoteEntry[]> {
    const body = await this.call(baseUrl, '/api/v1/factory/entries', apiKey);
    const parsed = z.array(remoteEntry).max(100_000).safeParse(body);
    if (!parsed.success) throw new FactoryCallError('BAD_RESPONSE', 'the factory answered entries that do not match the contract');
    return parsed.data;
  }

  async deliver(baseUrl: string, apiKey: string, envelope: Envelope): Promise<DeliveryResult[]> {
    const body = await this.call(baseUrl, '/api/v1/factory/credentials', apiKey, envelope);
    const parsed = deliveryResponse.safeParse(body);
    if (!parsed.success) throw new FactoryCallError('BAD_RESPONSE', 'the factory acknowledged in a form that does not match the contract');
    return parsed.data.results;
  }

  private async call(baseUrl: string, path: string, apiKey: string, body?: unknown): Promise<unknown> {
    // One deadline for the whole exchange, headers and body: a factory dripping its answer a byte
    // at a time is cut off like one that never answers.
    const signal = AbortSignal.timeout(this.settings.config.forwarding.requestTimeoutSeconds * 1000);
    const failed = (err: unknown) => {
      const timeout = signal.aborted || (err instanceof Error && (err.name === 'TimeoutError' || err.name === 'AbortError'));
      return new FactoryCallError(timeout ? 'TIMEOUT' : 'UNREACHABLE', timeout ? 'the factory did not answer in time' : 'the factory could not be reached');
    };
    let res: Response;
    try {
      res = await fetch(`${baseUrl}${path}`, {
        method: body === undefined ? 'GET' : 'POST',
        headers: { authorization: `Bearer ${apiKey}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal,
        redirect: 'error',
      });
    } catch (err) {
      throw failed(err);
    }
    let text: string;
    try {
      text = await readCapped(res, MAX_RESPONSE);
    } catch (err) {
      if (err instanceof FactoryCallError) throw err;
      throw failed(err);
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    if (!res.ok) {
      const code = (json as { error?: { code?: unknown } } | undefined)?.error?.code;
      throw new FactoryCallError(
        typeof code === 'string' && /^[A-Z][A-Z_]{0,47}$/.test(code) ? code : `HTTP_${res.status}`,
        `the factory answered ${res.status}`,
      );
    }
    return json;
  }
}

/**
 * The body as text, read chunk by chunk and abandoned (the connection closed) as soon as it passes
 * `max` bytes: a hostile factory's endless answer costs at most `max` of memory, never its size.
 */
async function readCapped(res: Response, max: number): Promise<string> {
  const declared = Number(res.headers.get('content-length'));
  if (declared > max) {
    await res.body?.cancel().catch(() => undefined);
    throw new FactoryCallError('BAD_RESPONSE', 'the factory answered too much');
  }
  if (!res.body) return '';
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      size += value.byteLength;
      if (size > max) {
        await reader.cancel().catch(() => undefined);
        throw new FactoryCallError('BAD_RESPONSE', 'the factory answered too much');
      }
      chunks.push(value);
    }
  } finally {
    reader.releaseLock();
  }
  // A read that fails (the exchange deadline, a dropped connection) is classified by the caller,
  // which knows whether its deadline fired.
  return Buffer.concat(chunks, size).toString('utf8');
}
