import { MAX_EXPR_DEPTH, mergeSubjects, RevokedSubject, sortedDistinct } from './classad.js';
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
  if (assignments.length !== 1 || assignments[0].name !== REVOCATION_KNOB)
    throw new RevocationCheckFailed(`the file must set ${REVOCATION_KNOB} and nothing else`);
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
  if (!sameJtis(got.jtis, want.jtis)) throw new RevocationCheckFailed('the jti list does not read back as written');
  const wantSubjects = mergeSubjects(want.subjects);
  if (wantSubjects.length !== got.subjects.size || wantSubjects.some((s) => got.subjects.get(s.subject) !== s.issuedBefore)) {
    throw new RevocationCheckFailed('the subject rules do not read back as written');
  }
  return depth;
}

/**
 * Whether the jtis read back are distinct and the same set as those wanted. Read back in strictly
 * ascending order (what revocationExpr writes) they are distinct, and are compared one by one with
 * the wanted jtis sorted (no hashing of 100,000 fresh strings); in any other order, by sets.
 */
function sameJtis(got: string[], wanted: string[]): boolean {
  let k = 1;
  while (k < got.length && got[k - 1] < got[k]) k++;
  if (k >= got.length) {
    const want = sortedDistinct([...wanted]);
    if (want.length !== got.length) return false;
    for (let i = 0; i < got.length; i++) if (got[i] !== want[i]) return false;
    return true;
  }
  const want = new Set(wanted);
  return new Set(got).size === got.length && want.size === got.length && got.every((j) => want.has(j));
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
      if (r.k !== 'bin' || r.op !== '<=' || !isAttr(r.l, 'iat') || r.r.k !== 'lit' || r.r.v.t !== 'int')
        throw new RevocationCheckFailed('unexpected subject cutoff');
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

const STRING_FUNCTIONS = new Set(['strcat', 'substr', 'formattime']);

/** Whether `x` is built only from string and integer literals and the functions the encoder uses. */
function literalOnly(x: Node): boolean {
  return (
    (x.k === 'lit' && (x.v.t === 'str' || x.v.t === 'int')) ||
    (x.k === 'un' && x.op === '-' && x.e.k === 'lit' && x.e.v.t === 'int') ||
    (x.k === 'call' && STRING_FUNCTIONS.has(x.fn) && x.args.every(literalOnly))
  );
}

/** A string built only from literals and the functions the encoder uses, evaluated without any claim. */
function constantString(n: Node): string {
  // A plain string literal (every hex jti) is its own value: what the general path below returns for it.
  if (n.k === 'lit' && n.v.t === 'str') return n.v.v;
  if (!literalOnly(n)) throw new RevocationCheckFailed('a string term refers to something other than literals');
  const v = evaluate(n, {});
  if (v.t !== 'str') throw new RevocationCheckFailed('a string term does not evaluate to a string');
  return v.v;
}
