import { MAX_EXPR_DEPTH, mergeSubjects, RevokedSubject } from './classad.js';
import { depthOf, evaluate, Node, parseOld, readConfig } from './old-classad.js';

export const REVOCATION_KNOB = 'SEC_TOKEN_REVOCATION_EXPR';

/** What a revocation file must mean: exactly these jtis and subject rules, nothing more. */
export interface RevocationSet {
  jtis: string[];
  subjects: RevokedSubject[];
}

/** Why a file was not written: the model would read it differently from what glidekey meant. */
export class RevocationCheckFailed extends Error {}

/**
 * Reads `content` as a collector would (config reader, then the old-syntax ClassAd parser) and
 * checks it means exactly `want`: one SEC_TOKEN_REVOCATION_EXPR, no config macro, a depth far
 * below HTCondor's limit, and terms that decode to the same jtis and subject rules. Throws
 * RevocationCheckFailed otherwise. Returns the depth.
 */
export function checkRevocationFile(content: string, want: RevocationSet): number {
  const assignments = readConfig(content);
  if (assignments.length !== 1 || assignments[0].name !== REVOCATION_KNOB) throw new RevocationCheckFailed(`the file must set ${REVOCATION_KNOB} and nothing else`);
  const [{ value, macros }] = assignments;
  if (macros.length) throw new RevocationCheckFailed(`the value holds ${macros.length} config macro form(s)`);
  let tree: Node;
  try {
    tree = parseOld(value);
  } catch (err) {
    throw new RevocationCheckFailed(`the value does not parse as an old-syntax ClassAd: ${(err as Error).message}`);
  }
  const depth = depthOf(tree);
  if (depth > MAX_EXPR_DEPTH) throw new RevocationCheckFailed(`the expression is ${depth} levels deep (at most ${MAX_EXPR_DEPTH})`);
  const got = decode(tree);
  const wantJtis = new Set(want.jtis);
  const gotJtis = new Set(got.jtis);
  if (gotJtis.size !== got.jtis.length || wantJtis.size !== gotJtis.size || got.jtis.some((j) => !wantJtis.has(j))) throw new RevocationCheckFailed('the jti list does not read back as written');
  const wantSubjects = mergeSubjects(want.subjects);
  if (wantSubjects.length !== got.subjects.size || wantSubjects.some((s) => got.subjects.get(s.subject) !== s.issuedBefore)) {
    throw new RevocationCheckFailed('the subject rules do not read back as written');
  }
  return depth;
}

interface Decoded {
  jtis: string[];
  subjects: Map<string, number>;
}

/** The jtis and subject rules of an expression of revocationExpr's shape; anything else throws. */
function decode(tree: Node): Decoded {
  const out: Decoded = { jtis: [], subjects: new Map() };
  if (tree.k === 'lit' && tree.v.t === 'bool' && tree.v.v === false) return out;
  const stack: Node[] = [tree];
  while (stack.length) {
    const n = stack.pop()!;
    if (n.k === 'bin' && n.op === '||') {
      stack.push(n.l, n.r);
    } else if (n.k === 'paren' && n.e.k === 'bin' && n.e.op === '||') {
      stack.push(n.e);
    } else if (n.k === 'bin' && n.op === '=?=' && isAttr(n.l, 'jti')) {
      out.jtis.push(constantString(n.r));
    } else if (n.k === 'call' && n.fn === 'identicalmember') {
      const [attr, list] = n.args;
      if (n.args.length !== 2 || !isAttr(attr, 'jti') || list.k !== 'list') throw new RevocationCheckFailed('unexpected jti term');
      for (const item of list.items) out.jtis.push(constantString(item));
    } else if (n.k === 'paren' && n.e.k === 'bin' && n.e.op === '&&') {
      const { l, r } = n.e;
      if (l.k !== 'bin' || l.op !== '=?=' || !isAttr(l.l, 'sub')) throw new RevocationCheckFailed('unexpected subject term');
      if (r.k !== 'bin' || r.op !== '<=' || !isAttr(r.l, 'iat') || r.r.k !== 'lit' || r.r.v.t !== 'int') throw new RevocationCheckFailed('unexpected subject cutoff');
      const subject = constantString(l.r);
      if (out.subjects.has(subject)) throw new RevocationCheckFailed('a subject appears twice');
      out.subjects.set(subject, r.r.v.v);
    } else {
      throw new RevocationCheckFailed(`unexpected term (${n.k})`);
    }
  }
  return out;
}

function isAttr(n: Node | undefined, name: string): boolean {
  return n !== undefined && n.k === 'attr' && n.name.toLowerCase() === name;
}

/** A string built only from literals and the functions the encoder uses, evaluated without any claim. */
function constantString(n: Node): string {
  const ok = (x: Node): boolean =>
    (x.k === 'lit' && (x.v.t === 'str' || x.v.t === 'int')) ||
    (x.k === 'un' && x.op === '-' && x.e.k === 'lit' && x.e.v.t === 'int') ||
    (x.k === 'call' && ['strcat', 'substr', 'formattime'].includes(x.fn) && x.args.every(ok));
  if (!ok(n)) throw new RevocationCheckFailed('a string term refers to something other than literals');
  const v = evaluate(n, {});
  if (v.t !== 'str') throw new RevocationCheckFailed('a string term does not evaluate to a string');
  return v.v;
}
