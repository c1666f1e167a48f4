/** A column of a human table: its header and how to show a row's cell. */
export type Column<T> = [header: string, cell: (row: T) => unknown];

const show = (v: unknown): string => {
  if (v === null || v === undefined || v === '') return '-';
  if (Array.isArray(v)) return v.length ? v.map(show).join(',') : '-';
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v).replace(/[\r\n\t]/g, ' ');
};

/** A plain-text table: headers in capitals, columns padded to the widest cell, two spaces apart. */
export function table<T>(rows: T[], columns: Column<T>[]): string {
  const cells = [columns.map(([h]) => h.toUpperCase()), ...rows.map((r) => columns.map(([, f]) => show(f(r))))];
  const widths = columns.map((_, i) => Math.max(...cells.map((c) => c[i].length)));
  return (
    cells
      .map((c) =>
        c
          .map((s, i) => (i === c.length - 1 ? s : s.padEnd(widths[i])))
          .join('  ')
          .trimEnd(),
      )
      .join('\n') + '\n'
  );
}

/** `key: value` lines for one object, nested objects flattened as `a.b`. */
export function keyValues(obj: Record<string, unknown>, prefix = ''): string {
  const lines: string[] = [];
  for (const [k, v] of Object.entries(obj)) {
    if (v && typeof v === 'object' && !Array.isArray(v)) lines.push(keyValues(v as Record<string, unknown>, `${prefix}${k}.`).trimEnd());
    else if (Array.isArray(v) && v.some((x) => x && typeof x === 'object')) lines.push(`${prefix}${k}: ${JSON.stringify(v)}`);
    else lines.push(`${prefix}${k}: ${show(v)}`);
  }
  return lines.filter(Boolean).join('\n') + '\n';
}

export const out = (text: string) => process.stdout.write(text);
export const note = (text: string) => process.stderr.write(text.endsWith('\n') ? text : text + '\n');
export const json = (data: unknown) => out(JSON.stringify(data, null, 2) + '\n');
