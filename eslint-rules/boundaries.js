// Local ESLint plugin: the capability boundaries of issue 16 as two rules, reported on the import
// line. The analysis is scripts/boundaries.js's (same folder notion, same registry, same shared
// folders), so the rules and `node scripts/boundaries.js` cannot disagree.
//
//  glidekey/no-foreign-entity-import  a file under src/<cap>/ imports src/<other>/*.entity.ts
//  glidekey/no-folder-cycle           an import from src/<a>/ to src/<b>/ while <b> already
//                                     depends (directly or through other folders) on <a>
//
// Options (both rules): { srcDir: 'src', registry: [...ENTITY_REGISTRY], shared: [...SHARED_FOLDERS] }.
import path from 'node:path';
import { analyse, classifyImport, ENTITY_REGISTRY, resolveImport, SHARED_FOLDERS, shortestPath, treeSignature } from '../scripts/boundaries.js';

const optionsSchema = [
  {
    type: 'object',
    properties: {
      srcDir: { type: 'string' },
      registry: { type: 'array', items: { type: 'string' } },
      shared: { type: 'array', items: { type: 'string' } },
    },
    additionalProperties: false,
  },
];

function settings(context) {
  const o = context.options[0] ?? {};
  return {
    srcDir: path.resolve(context.cwd, o.srcDir ?? 'src'),
    registry: o.registry ?? ENTITY_REGISTRY,
    shared: o.shared ?? SHARED_FOLDERS,
  };
}

// Calls `check(node, specifier)` for every module specifier in the file.
function importVisitors(check) {
  const literal = (node, source) => {
    if (source && source.type === 'Literal' && typeof source.value === 'string') check(node, source.value);
  };
  return {
    ImportDeclaration: (n) => literal(n, n.source),
    ExportNamedDeclaration: (n) => literal(n, n.source),
    ExportAllDeclaration: (n) => literal(n, n.source),
    ImportExpression: (n) => literal(n, n.source),
    TSImportType: (n) => literal(n, n.argument?.type === 'TSLiteralType' ? n.argument.literal : n.argument),
    TSExternalModuleReference: (n) => literal(n, n.expression),
  };
}

const noForeignEntityImport = {
  meta: {
    type: 'problem',
    docs: { description: "Import a capability's *.entity.ts only from inside its own folder (or the entity registry)" },
    schema: optionsSchema,
    messages: {
      foreign: "'{{specifier}}' is an entity of {{toCap}}/; {{fromCap}}/ must not import it (use a function or store that {{toCap}}/ exports).",
    },
  },
  create(context) {
    const { srcDir, registry } = settings(context);
    const file = context.physicalFilename;
    return importVisitors((node, specifier) => {
      const to = resolveImport(file, specifier);
      const found = to && classifyImport(srcDir, file, to, registry);
      if (found?.foreignEntity) {
        context.report({ node, messageId: 'foreign', data: { specifier, fromCap: found.fromCap, toCap: found.toCap } });
      }
    });
  },
};

// The folder graph, cached per source tree and rebuilt when a file there changes (an editor's
// long-running ESLint sees saved edits; checked at most once a second).
const graphs = new Map();
function graphFor(srcDir, registry, shared) {
  const key = JSON.stringify([srcDir, registry, shared]);
  const now = Date.now();
  let entry = graphs.get(key);
  if (entry && now - entry.checked < 1000) return entry.graph;
  const signature = treeSignature(srcDir);
  if (!entry || entry.signature !== signature) {
    entry = { signature, graph: analyse({ srcDir, registry, shared }).graph };
    graphs.set(key, entry);
  }
  entry.checked = now;
  return entry.graph;
}

const noFolderCycle = {
  meta: {
    type: 'problem',
    docs: { description: 'No import cycle between capability folders under src/' },
    schema: optionsSchema,
    messages: {
      cycle: "'{{specifier}}' makes {{fromCap}}/ depend on {{toCap}}/, which depends back on it: folder cycle {{cycle}}.",
    },
  },
  create(context) {
    const { srcDir, registry, shared } = settings(context);
    const file = context.physicalFilename;
    let graph;
    return importVisitors((node, specifier) => {
      const to = resolveImport(file, specifier);
      const found = to && classifyImport(srcDir, file, to, registry);
      if (!found || shared.includes(found.fromCap) || shared.includes(found.toCap)) return;
      graph ??= graphFor(srcDir, registry, shared);
      const back = shortestPath(graph, found.toCap, found.fromCap);
      if (back) {
        context.report({
          node,
          messageId: 'cycle',
          data: { specifier, fromCap: found.fromCap, toCap: found.toCap, cycle: [found.fromCap, ...back].join(' → ') },
        });
      }
    });
  },
};

export default {
  meta: { name: 'eslint-plugin-glidekey' },
  rules: {
    'no-foreign-entity-import': noForeignEntityImport,
    'no-folder-cycle': noFolderCycle,
  },
};
