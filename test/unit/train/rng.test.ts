// The seeded generator: determinism, exact state round trip, independent streams, and sane distributions.
import { Rng } from '../../../trainer-image/src/train/rng.ts';

describe('Rng', () => {
  it('is deterministic for a seed and stream', () => {
    const a = Rng.forStream(59, 'train');
    const b = Rng.forStream(59, 'train');
    const xs = Array.from({ length: 100 }, () => a.nextUint32());
    const ys = Array.from({ length: 100 }, () => b.nextUint32());
    expect(xs).toEqual(ys);
    expect(new Set(xs).size).toBe(100);
  });

  it('gives different sequences for different streams and seeds', () => {
    const first = (r: Rng) => Array.from({ length: 8 }, () => r.nextUint32());
    const train = first(Rng.forStream(59, 'train'));
    expect(first(Rng.forStream(59, 'eval'))).not.toEqual(train);
    expect(first(Rng.forStream(60, 'train'))).not.toEqual(train);
    expect(first(Rng.forStream(59 + 2 ** 32, 'train'))).not.toEqual(train);
  });

  it('continues exactly from a saved state', () => {
    const rng = Rng.forStream(7, 'train');
    rng.normal(33);
    rng.permutation(10);
    const saved = JSON.parse(JSON.stringify(rng.state()));
    const expected = [rng.nextFloat(), rng.nextInt(1000), ...rng.normal(5)];
    const restored = Rng.fromState(saved);
    expect([restored.nextFloat(), restored.nextInt(1000), ...restored.normal(5)]).toEqual(expected);
  });

  it('rejects malformed states', () => {
    expect(() => Rng.fromState([1, 2, 3])).toThrow(/four uint32/);
    expect(() => Rng.fromState([0, 0, 0, 0])).toThrow(/zero/);
    expect(() => Rng.fromState([1, 2, 3, 2 ** 32])).toThrow(/uint32/);
  });

  it('draws floats in [0, 1) and ints in range, roughly uniform', () => {
    const rng = Rng.forStream(1, 'u');
    const counts = new Array<number>(10).fill(0);
    for (let i = 0; i < 20000; i++) {
      const f = rng.nextFloat();
      expect(f >= 0 && f < 1).toBe(true);
      const k = rng.nextInt(10);
      counts[k] = (counts[k] ?? 0) + 1;
    }
    for (const c of counts) expect(Math.abs(c - 2000)).toBeLessThan(200);
  });

  it('draws standard normals (mean 0, variance 1) including odd lengths', () => {
    const z = Rng.forStream(3, 'n').normal(40001);
    const mean = z.reduce((s, x) => s + x, 0) / z.length;
    const variance = z.reduce((s, x) => s + (x - mean) ** 2, 0) / z.length;
    expect(Math.abs(mean)).toBeLessThan(0.02);
    expect(Math.abs(variance - 1)).toBeLessThan(0.03);
    expect(z.every(Number.isFinite)).toBe(true);
  });

  it('draws permutations', () => {
    const perm = Rng.forStream(5, 'p').permutation(1000);
    expect([...perm].sort((a, b) => a - b)).toEqual(Array.from({ length: 1000 }, (_, i) => i));
    expect(perm.slice(0, 10)).not.toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });
});
