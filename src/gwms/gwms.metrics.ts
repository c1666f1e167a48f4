import { Injectable, OnModuleInit } from '@nestjs/common';
import { Counter, Gauge } from 'prom-client';
import { MetricsService } from '../metrics/metrics.service.js';
import type { ManagedDirReport } from './managed-dir.js';

export type FileKind = 'idtoken' | 'scitoken';
const CHANGES = ['written', 'claimed', 'repaired', 'refreshed', 'removed'] as const;

/**
 * The files glidekey keeps for the GlideinWMS frontend, by kind (IDTOKENs in tokens.d, SciTokens):
 * what each sync changed, what it could not keep, and the oldest file's age (GlideinWMS mints its
 * own token, or reads a stale one, past 3600 s). No series per file: sites times groups.
 */
@Injectable()
export class GwmsMetrics implements OnModuleInit {
  private readonly changes: Counter<'kind' | 'change'>;
  private readonly conflicts: Gauge<'kind'>;
  private readonly ages = new Map<FileKind, () => number[]>();

  constructor(private readonly metrics: MetricsService) {
    this.changes = new Counter({
      name: 'glidekey_gwms_frontend_file_changes_total',
      help: 'Files kept for the GlideinWMS frontend, by kind (idtoken, scitoken) and change (written, claimed, repaired, refreshed, removed)',
      labelNames: ['kind', 'change'] as const,
      registers: [metrics.registry],
    });
    this.conflicts = new Gauge({
      name: 'glidekey_gwms_frontend_file_conflicts',
      help: 'Files glidekey should keep for the GlideinWMS frontend whose name is held by a file it may not take over, at the last sync',
      labelNames: ['kind'] as const,
      registers: [metrics.registry],
    });
  }

  onModuleInit(): void {
    const ages = this.ages;
    new Gauge({
      name: 'glidekey_gwms_frontend_file_max_age_seconds',
      help: 'Seconds since the oldest file kept for the GlideinWMS frontend was last written or touched, by kind (0 with none)',
      labelNames: ['kind'] as const,
      registers: [this.metrics.registry],
      collect() {
        this.reset();
        for (const [kind, read] of ages) this.set({ kind }, Math.max(0, ...read()));
      },
    });
  }

  /** A kind's directory is kept: its series start at 0, and its ages are read at each scrape. */
  track(kind: FileKind, ages: () => number[]): void {
    for (const change of CHANGES) this.changes.inc({ kind, change }, 0);
    this.conflicts.set({ kind }, 0);
    this.ages.set(kind, ages);
  }

  record(kind: FileKind, r: ManagedDirReport): void {
    for (const change of CHANGES) if (r[change].length) this.changes.inc({ kind, change }, r[change].length);
    this.conflicts.set({ kind }, r.conflicts.length);
  }
}
