// Types for scripts/boundaries.js (plain JavaScript so that it runs without a build), for the tests.
export interface ImportEdge {
  from: string;
  line: number;
  to: string;
  typeOnly: boolean;
}
export type FolderGraph = Map<string, Map<string, ImportEdge[]>>;
export interface BoundaryResult {
  entityImports: ImportEdge[];
  /** Each cycle as its folders, the first repeated at the end: ['a', 'b', 'a'] is a ⇄ b. */
  cycles: string[][];
  sharedCycles: string[][];
  graph: FolderGraph;
  full: FolderGraph;
}
export const SHARED_FOLDERS: string[];
export const ENTITY_REGISTRY: string[];
export function listSourceFiles(dir: string): string[];
export function treeSignature(dir: string): string;
export function importsOf(fileName: string, text: string): { specifier: string; line: number; typeOnly: boolean }[];
export function resolveImport(fromFile: string, specifier: string): string | null;
export function capabilityOf(srcDir: string, file: string): string | null;
export function isEntityFile(file: string): boolean;
export function isRegistry(srcDir: string, file: string, registry?: string[]): boolean;
export function classifyImport(
  srcDir: string,
  from: string,
  to: string,
  registry?: string[],
): { fromCap: string; toCap: string; foreignEntity: boolean } | null;
export function shortestPath(graph: FolderGraph, from: string, to: string): string[] | null;
export function findCycles(graph: FolderGraph, keep?: (folder: string) => boolean): string[][];
export function analyse(options: { srcDir: string; shared?: string[]; registry?: string[] }): BoundaryResult;
export function report(result: BoundaryResult, root?: string): string;
