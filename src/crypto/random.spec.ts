import { Random } from './random.js';

describe(Random.name, () => {
  const random = new Random();

  it('makes version 4 UUIDs, all different', () => {
    const ids = Array.from({ length: 1000 }, () => random.uuid());
    for (const id of ids) expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('makes fractions in [0, 1), spread out', () => {
    const xs = Array.from({ length: 1000 }, () => random.fraction());
    for (const x of xs) expect(x >= 0 && x < 1).toBe(true);
    expect(Math.min(...xs)).toBeLessThan(0.1);
    expect(Math.max(...xs)).toBeGreaterThan(0.9);
  });
});
