import { readFileSync } from 'node:fs';
import { createSecureContext } from 'node:tls';
import { X509Certificate } from 'node:crypto';
import { ConfigError } from '../config/config.loader.js';

export interface TlsFiles {
  cert: Buffer;
  key: Buffer;
  /** SHA-256 fingerprint of the leaf certificate, for the log. */
  fingerprint: string;
}

function read(setting: string, path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new ConfigError(
      `${setting}: cannot read ${path} (${code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : (code ?? 'error')})`,
    );
  }
}

/**
 * Reads the PEM certificate (chain) and key and checks they make a usable pair, so a bad file is
 * one clear line at start and, on SIGHUP, leaves the current certificate in place. OpenSSL's
 * messages name the problem (no PEM, key mismatch), never the key's bytes.
 */
export function readTlsFiles(certPath: string, keyPath: string): TlsFiles {
  const cert = read('tls.cert', certPath);
  const key = read('tls.key', keyPath);
  try {
    createSecureContext({ cert, key });
    return { cert, key, fingerprint: new X509Certificate(cert).fingerprint256 };
  } catch (err) {
    throw new ConfigError(`tls.cert and tls.key (${certPath}, ${keyPath}) are not a usable certificate and key: ${(err as Error).message}`);
  }
}
