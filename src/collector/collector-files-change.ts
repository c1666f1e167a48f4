/** What changed on disk in the files a collector reads. */
export interface CollectorFilesChange {
  /** Key files written, rewritten or removed in passwords.d (kids: site names, never key bytes). */
  keysWritten?: string[];
  keysRemoved?: string[];
  revocationFile?: boolean;
}
