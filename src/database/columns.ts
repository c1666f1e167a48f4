import { ValueTransformer } from 'typeorm';

/** bigint columns come back from pg as strings; every time and counter in glidekey fits a JS number. */
export const bigintNumber: ValueTransformer = {
  to: (v: number | null | undefined) => v,
  from: (v: string | number | null) => (v === null || v === undefined ? v : Number(v)),
};

/** Options for a millisecond timestamp column. */
export const msColumn = (name: string, nullable = false) => ({ name, type: 'bigint' as const, nullable, transformer: bigintNumber });
