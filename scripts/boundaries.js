#!/usr/bin/env node
// Capability boundaries (issue 16), checked on the source as it is: no build needed.
//
// A capability is a first-level folder under src/. Two checks:
//  - a capability's `*.entity.ts` files are imported only from inside that folder; the entity
//    registry (ENTITY_REGISTRY) is the one exception under src/ (migrations live outside src/);
//  - the folder-level import graph between capabilities has no cycle. The cross-cutting folders in
//    SHARED_FOLDERS (the infrastructure every capability leans on) are left out of that graph;
//    cycles through them are listed too, but not counted.
// Every import counts, `import type` included: a type-only import is still a dependency of one
// folder on another, and it is what makes factory ⇄ forwarding a cycle.
//
// `node scripts/boundaries.js [--src DIR]` prints both counts with their lists and exits 1 when
// either is not zero. eslint-rules/boundaries.js reports the same findings on the import lines.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

/** Folders under src/ that every capability may use: not nodes of the capability graph. */
export const SHARED_FOLDERS = ['auth', 'common', 'config', 'crypto', 'database', 'events', 'logging', 'metrics'];
/** Files (relative to src/) that list every entity for TypeORM and may import them all. */
export const ENTITY_REGISTRY = ['database/entities.ts'];

const SOURCE = /\.(ts|mts|cts)$/;

/** Every TypeScript source file under dir, sorted, declaration files left out. */
export function listSourceFiles(dir) {
  const out = [];
  const walk = (d) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (SOURCE.test(e.name) && !e.name.endsWith('.d.ts')) out.push(p);
    }
  };
  walk(dir);
  return out.sort();
}

/** A cheap fingerprint of a source tree (names, sizes, mtimes), to know when a cached analysis is stale. */
export function treeSignature(dir) {
  return listSourceFiles(dir)
    .map((f) => {
      const s = statSync(f);
      return `${f}:${s.size}:${s.mtimeMs}`;
    })
    .join('\n');
}

/** The module specifiers a file imports: static, re-exports, `import()`, `import('x').T`, `import x = require()`. */
export function importsOf(fileName, text) {
  const sf = ts.createSourceFile(fileName, text, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
  const out = [];
  const add = (node, literal, typeOnly) => {
    if (!literal || !ts.isStringLiteralLike(literal)) return;
    const line = sf.getLineAndCharacterOfPosition(node.getStart(sf)).line + 1;
    out.push({ specifier: literal.text, line, typeOnly });
  };
  const visit = (node) => {
    if (ts.isImportDeclaration(node)) {
      const c = node.importClause;
      const named = c?.namedBindings && ts.isNamedImports(c.namedBindings) ? c.namedBindings.elements : [];
      const typeOnly = !!c && (c.isTypeOnly || (!c.name && named.length > 0 && named.every((e) => e.isTypeOnly)));
      add(node, node.moduleSpecifier, typeOnly);
    } else if (ts.isExportDeclaration(node) && node.moduleSpecifier) {
      add(node, node.moduleSpecifier, node.isTypeOnly);
    } else if (ts.isImportEqualsDeclaration(node) && ts.isExternalModuleReference(node.moduleReference)) {
      add(node, node.moduleReference.expression, node.isTypeOnly);
    } else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword) {
      add(node, node.arguments[0], false);
    } else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument)) {
      add(node, node.argument.literal, true);
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return out;
}

/** The file a relative specifier names (`./x.js` is `./x.ts` in the source tree); null for packages. */
export function resolveImport(fromFile, specifier) {
  if (!specifier.startsWith('./') && !specifier.startsWith('../')) return null;
  const target = path.resolve(path.dirname(fromFile), specifier);
  const m = /\.(m|c)?js$/.exec(target);
  if (m) return target.slice(0, -m[0].length) + `.${m[1] ?? ''}ts`;
  if (SOURCE.test(target)) return target;
  return `${target}.ts`;
}

/** The capability (first folder under srcDir) a file belongs to; null outside srcDir or directly in it. */
export function capabilityOf(srcDir, file) {
  const rel = path.relative(srcDir, file);
  if (rel.startsWith('..') || path.isAbsolute(rel)) return null;
  const parts = rel.split(path.sep);
  return parts.length > 1 ? parts[0] : null;
}

export const isEntityFile = (file) => file.endsWith('.entity.ts');

/** Whether a file is one of the registry files, which may import every capability's entities. */
export function isRegistry(srcDir, file, registry = ENTITY_REGISTRY) {
  const rel = path.relative(srcDir, file).split(path.sep).join('/');
  return registry.includes(rel);
}

/**
 * The finding for one import of `to` from `from`, both absolute: { fromCap, toCap, foreignEntity }.
 * Registry files import entities for TypeORM only, so they are neither findings nor graph edges.
 */
export function classifyImport(srcDir, from, to, registry = ENTITY_REGISTRY) {
  const fromCap = capabilityOf(srcDir, from);
  const toCap = capabilityOf(srcDir, to);
  if (!fromCap || !toCap || fromCap === toCap || isRegistry(srcDir, from, registry)) return null;
  return { fromCap, toCap, foreignEntity: isEntityFile(to) };
}

/** Shortest folder path from `from` to `to` in graph (Map name -> Map name -> edges), or null. */
export function shortestPath(graph, from, to) {
  const prev = new Map([[from, null]]);
  const queue = [from];
  while (queue.length > 0) {
    const v = queue.shift();
    for (const w of [...(graph.get(v)?.keys() ?? [])].sort()) {
      if (prev.has(w)) continue;
      prev.set(w, v);
      if (w === to) {
        const p = [w];
        for (let x = v; x !== null; x = prev.get(x)) p.unshift(x);
        return p;
      }
      queue.push(w);
    }
  }
  return null;
}

/** Strongly connected components with more than one folder (Tarjan). */
function components(graph) {
  let index = 0;
  const idx = new Map();
  const low = new Map();
  const stack = [];
  const on = new Set();
  const out = [];
  const strong = (v) => {
    idx.set(v, index);
    low.set(v, index++);
    stack.push(v);
    on.add(v);
    for (const w of graph.get(v)?.keys() ?? []) {
      if (!idx.has(w)) {
        strong(w);
        low.set(v, Math.min(low.get(v), low.get(w)));
      } else if (on.has(w)) low.set(v, Math.min(low.get(v), idx.get(w)));
    }
    if (low.get(v) === idx.get(v)) {
      const c = [];
      let w;
      do {
        w = stack.pop();
        on.delete(w);
        c.push(w);
      } while (w !== v);
      if (c.length > 1) out.push(c.sort());
    }
  };
  for (const v of [...graph.keys()].sort()) if (!idx.has(v)) strong(v);
  return out;
}

/**
 * The folder cycles of a graph, each as its folder list (first folder repeated at the end):
 * every pair of folders that import each other (A ⇄ B), then, with the edges of those pairs set
 * aside, one shortest cycle per group of folders still tied in a loop of three or more. The count
 * is 0 exactly when the graph has no cycle. `keep(folder)` limits the list to cycles through a
 * folder it accepts (used to list the cycles through shared folders).
 */
export function findCycles(graph, keep = () => true) {
  const cycles = [];
  const rest = new Map([...graph].map(([k, v]) => [k, new Map(v)]));
  for (const a of [...graph.keys()].sort()) {
    for (const b of [...graph.get(a).keys()].sort()) {
      if (a < b && graph.get(b)?.has(a)) {
        if (keep(a) || keep(b)) cycles.push([a, b, a]);
        rest.get(a).delete(b);
        rest.get(b).delete(a);
      }
    }
  }
  for (const c of components(rest)) {
    const start = c.find(keep);
    if (start === undefined) continue;
    const inside = new Map(c.map((v) => [v, new Map([...rest.get(v)].filter(([w]) => c.includes(w)))]));
    // A shortest way round: out of start to a neighbour, then the shortest path back.
    let best = null;
    for (const n of [...inside.get(start).keys()].sort()) {
      const back = shortestPath(inside, n, start);
      if (back && (!best || back.length + 1 < best.length)) best = [start, ...back];
    }
    cycles.push(best);
  }
  return cycles;
}

function addEdge(graph, a, b, edge) {
  if (!graph.has(a)) graph.set(a, new Map());
  if (!graph.has(b)) graph.set(b, new Map());
  const to = graph.get(a);
  if (!to.has(b)) to.set(b, []);
  to.get(b).push(edge);
}

/**
 * Analyse a source tree. Returns
 *  - entityImports: [{ from, line, to, typeOnly }] imports of another capability's entity file;
 *  - cycles: folder cycles between capabilities (SHARED_FOLDERS left out of the graph);
 *  - sharedCycles: folder cycles through a shared folder (listed, not counted);
 *  - graph: Map capability -> Map capability -> [{ from, line, to, typeOnly }] (shared folders
 *    left out), the graph the ESLint rule walks.
 * Paths in the results are absolute.
 */
export function analyse({ srcDir, shared = SHARED_FOLDERS, registry = ENTITY_REGISTRY }) {
  const src = path.resolve(srcDir);
  const entityImports = [];
  const full = new Map();
  const graph = new Map();
  for (const from of listSourceFiles(src)) {
    for (const imp of importsOf(from, readFileSync(from, 'utf8'))) {
      const to = resolveImport(from, imp.specifier);
      const found = to && classifyImport(src, from, to, registry);
      if (!found) continue;
      const edge = { from, line: imp.line, to, typeOnly: imp.typeOnly };
      if (found.foreignEntity) entityImports.push(edge);
      addEdge(full, found.fromCap, found.toCap, edge);
      if (!shared.includes(found.fromCap) && !shared.includes(found.toCap)) addEdge(graph, found.fromCap, found.toCap, edge);
    }
  }
  return {
    entityImports,
    cycles: findCycles(graph),
    sharedCycles: findCycles(full, (f) => shared.includes(f)),
    graph,
    full,
  };
}

/** The printed report: the two counted lists, then the shared-folder cycles. */
export function report(result, root = process.cwd()) {
  const rel = (f) => path.relative(root, f);
  const lines = [`cross-capability entity imports: ${result.entityImports.length}`];
  for (const e of result.entityImports) {
    lines.push(`  ${rel(e.from)}:${e.line} imports ${rel(e.to)}${e.typeOnly ? ' (type only)' : ''}`);
  }
  const describe = (graph, cycle) => {
    const name = cycle.length === 3 ? `${cycle[0]} ⇄ ${cycle[1]}` : cycle.join(' → ');
    const hops = [];
    for (let i = 0; i + 1 < cycle.length; i++) {
      const edges = graph.get(cycle[i]).get(cycle[i + 1]);
      const e = edges[0];
      hops.push(`    ${cycle[i]} → ${cycle[i + 1]}: ${edges.length} import(s), e.g. ${rel(e.from)}:${e.line}`);
    }
    return [`  ${name}`, ...hops];
  };
  lines.push(`folder cycles: ${result.cycles.length}`);
  for (const c of result.cycles) lines.push(...describe(result.graph, c));
  lines.push(`cycles through shared folders (${SHARED_FOLDERS.join(', ')}; listed, not counted): ${result.sharedCycles.length}`);
  for (const c of result.sharedCycles) lines.push(...describe(result.full, c));
  return lines.join('\n');
}

function main(argv) {
  const i = argv.indexOf('--src');
  const srcDir = i >= 0 ? argv[i + 1] : path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'src');
  const result = analyse({ srcDir });
  console.log(report(result));
  return result.entityImports.length === 0 && result.cycles.length === 0 ? 0 : 1;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  process.exitCode = main(process.argv.slice(2));
}
