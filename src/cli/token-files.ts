import { mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { basename, join } from 'node:path';
import { writeFileAtomic } from '../common/atomic-file.js';
import { localError, usageError } from './exit-codes.js';

/**
 * Where condor_token_list and condor_token_create -token look without -dir (token_list.cpp,
 * token_utils.cpp write_out_token): SEC_TOKEN_DIRECTORY when set (read here from the environment
 * form HTCondor also honours, _CONDOR_SEC_TOKEN_DIRECTORY; condor_config files are not read), else
 * ~/.condor/tokens.d for a user, else SEC_TOKEN_SYSTEM_DIRECTORY (default /etc/condor/tokens.d)
 * for root. HTCondor takes the home directory from the password database; this uses $HOME.
 */
export function defaultTokenDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env._CONDOR_SEC_TOKEN_DIRECTORY) return env._CONDOR_SEC_TOKEN_DIRECTORY;
  if (process.getuid?.() === 0) return env._CONDOR_SEC_TOKEN_SYSTEM_DIRECTORY || '/etc/condor/tokens.d';
  return join(homedir(), '.condor', 'tokens.d');
}

/** HTCondor's default LOCAL_CONFIG_DIR_EXCLUDE_REGEXP: condor_token_list skips these file names. */
const EXCLUDED = /^((\..*)|(.*\.pl)|(.*\.py)|(.*\.sh)|(.*~)|(#.*)|(.*\.rpmsave)|(.*\.rpmnew)|(.*\.dpkg-old)|(.*\.dpkg-dist)|(.*\.cfsaved))$/;

/** Strict base64url as jwt-cpp decodes it (it throws on a character outside the alphabet). */
function b64url(part: string): Buffer | null {
  if (!/^[A-Za-z0-9_-]*={0,2}$/.test(part)) return null;
  const bare = part.replace(/=+$/, '');
  if (bare.length % 4 === 1 || (part.length !== bare.length && part.length % 4 !== 0)) return null;
  return Buffer.from(bare, 'base64url');
}

const isJsonObject = (bytes: Buffer) => {
  try {
    const v = JSON.parse(bytes.toString('utf8'));
    return typeof v === 'object' && v !== null && !Array.isArray(v);
  } catch {
    return false;
  }
};

/**
 * condor_token_list's lines for one file: per token line (trimmed; blank and `#` lines skipped),
 * `Header: <header> Payload: <payload> File: <path>`, where header and payload are the token's
 * base64url parts decoded and printed verbatim, byte for byte (jwt-cpp's get_header/get_payload).
 * A line that does not decode as a JWT is skipped silently, as condor does.
 */
export function tokenFileLines(path: string): Buffer {
  let text: Buffer;
  try {
    text = readFileSync(path);
  } catch (err) {
    process.stderr.write(`glidekey: cannot read token file ${path}: ${(err as NodeJS.ErrnoException).code ?? 'error'}\n`);
    return Buffer.alloc(0);
  }
  const out: Buffer[] = [];
  for (const raw of text.toString('latin1').split('\n')) {
    const line = raw.replace(/^[ \t\n\v\f\r]+|[ \t\n\v\f\r]+$/g, '');
    if (!line || line.startsWith('#')) continue;
    const dot1 = line.indexOf('.');
    const dot2 = dot1 < 0 ? -1 : line.indexOf('.', dot1 + 1);
    if (dot2 < 0) continue;
    const header = b64url(line.slice(0, dot1));
    const payload = b64url(line.slice(dot1 + 1, dot2));
    const signature = b64url(line.slice(dot2 + 1));
    if (!header || !payload || !signature || !isJsonObject(header) || !isJsonObject(payload)) continue;
    out.push(Buffer.from('Header: '), header, Buffer.from(' Payload: '), payload, Buffer.from(` File: ${path}\n`));
  }
  return Buffer.concat(out);
}

/**
 * condor_token_list over a directory: every file that is not a directory and that the exclude
 * expression lets through, its path as HTCondor's Directory class builds it (dir, one `/`, name).
 * HTCondor walks readdir order, which the file system chooses; this sorts by name so the output is stable.
 */
export function tokenDirLines(dir: string): Buffer {
  let names: string[];
  try {
    names = readdirSync(dir).sort();
  } catch (err) {
    throw localError(`cannot open the token directory ${dir}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`);
  }
  const prefix = dir.endsWith('/') ? dir : dir + '/';
  const parts: Buffer[] = [];
  for (const name of names) {
    const path = prefix + name;
    let isDir = false;
    try {
      isDir = statSync(path).isDirectory();
    } catch {
      // a dangling link: condor's open fails too, and prints nothing on stdout
    }
    if (isDir || EXCLUDED.test(name)) continue;
    parts.push(tokenFileLines(path));
  }
  return Buffer.concat(parts);
}

/** condor_token_create -token NAME: the token and a newline, 0600, in the token directory (made 0700). */
export function writeTokenToDir(dir: string, name: string, token: string): string {
  if (!name || name !== basename(name) || name === '.' || name === '..')
    throw usageError('-token must be a plain file name (HTCondor: "Token name isn\'t a plain filename")');
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
  } catch (err) {
    throw localError(`cannot create the token directory ${dir}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`);
  }
  return writeTokenFile(join(dir, name), token);
}

/** condor_token_create -file PATH: the token and a newline, 0600, written atomically. */
export function writeTokenFile(path: string, token: string): string {
  try {
    writeFileAtomic(path, token + '\n', 0o600);
  } catch (err) {
    throw localError(`cannot write the token to ${path}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`);
  }
  return path;
}

/** The tokens in a token file, as condor reads it: trimmed lines, blank and `#` lines skipped. */
export function tokensInFile(path: string): string[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw localError(`cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`);
  }
  return text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
}
