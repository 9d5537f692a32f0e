// Seeded random numbers with a serializable state (xoshiro128**, seeded by splitmix32), so a checkpoint can
// store the exact generator position and a resumed run draws the same numbers as an uninterrupted one.
// Named streams (training, evaluation, latents) are independent generators derived from one seed.

/** The whole generator state: four uint32 words. */
export type RngState = readonly [number, number, number, number];

const TWO_POW_26 = 67108864;
const TWO_POW_53 = 9007199254740992;

function splitmix32(seed: number): () => number {
  let x = seed >>> 0;
  return () => {
    x = (x + 0x9e3779b9) >>> 0;
    let z = x;
    z = Math.imul(z ^ (z >>> 16), 0x21f0aaad);
    z = Math.imul(z ^ (z >>> 15), 0x735a2d97);
    return (z ^ (z >>> 15)) >>> 0;
  };
}

/** FNV-1a over the UTF-16 code units of a stream name: a stable 32-bit id per name. */
function hashName(name: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

const rotl = (x: number, k: number): number => ((x << k) | (x >>> (32 - k))) >>> 0;

export class Rng {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;

  private constructor(state: RngState) {
    [this.s0, this.s1, this.s2, this.s3] = state;
  }

  /** A generator for `stream` under `seed`: different names give independent sequences. */
  static forStream(seed: number, stream: string): Rng {
    if (!Number.isSafeInteger(seed)) throw new Error(`seed must be an integer, got ${seed}`);
    // Mix both 32-bit halves of the seed and the stream name into the splitmix seed.
    const high = Math.floor(seed / 2 ** 32);
    const next = splitmix32((seed ^ Math.imul(high, 0x85ebca6b) ^ hashName(stream)) >>> 0);
    const state: [number, number, number, number] = [next(), next(), next(), next()];
    if (state.every((w) => w === 0)) state[0] = 1; // the all-zero state is a fixed point
    return new Rng(state);
  }

  static fromState(state: readonly number[]): Rng {
    if (state.length !== 4 || !state.every((w) => Number.isInteger(w) && w >= 0 && w <= 0xffffffff)) {
      throw new Error(`invalid RNG state: expected four uint32 words, got ${JSON.stringify(state)}`);
    }
    if (state.every((w) => w === 0)) throw new Error('invalid RNG state: all words are zero');
    return new Rng([state[0]!, state[1]!, state[2]!, state[3]!]);
  }

  state(): RngState {
    return [this.s0, this.s1, this.s2, this.s3];
  }

  /** The next uniformly distributed uint32. */
  nextUint32(): number {
    const result = Math.imul(rotl(Math.imul(this.s1, 5) >>> 0, 7), 9) >>> 0;
    const t = (this.s1 << 9) >>> 0;
    this.s2 = (this.s2 ^ this.s0) >>> 0;
    this.s3 = (this.s3 ^ this.s1) >>> 0;
    this.s1 = (this.s1 ^ this.s2) >>> 0;
    this.s0 = (this.s0 ^ this.s3) >>> 0;
    this.s2 = (this.s2 ^ t) >>> 0;
    this.s3 = rotl(this.s3, 11);
    return result;
  }

  /** A double uniform in [0, 1) with 53 random bits. */
  nextFloat(): number {
    const a = this.nextUint32() >>> 5;
    const b = this.nextUint32() >>> 6;
    return (a * TWO_POW_26 + b) / TWO_POW_53;
  }

  /** An integer uniform in [0, n), without modulo bias (rejection sampling). */
  nextInt(n: number): number {
    if (!Number.isInteger(n) || n < 1 || n > 0x100000000) throw new Error(`nextInt: bad range ${n}`);
    const limit = 0x100000000 - (0x100000000 % n);
    for (;;) {
      const x = this.nextUint32();
      if (x < limit) return x % n;
    }
  }

  /** `out.length` standard normal samples (Box–Muller, both outputs of each pair used). */
  fillNormal(out: Float32Array): Float32Array {
    for (let i = 0; i < out.length; i += 2) {
      const u1 = 1 - this.nextFloat(); // (0, 1]: log(u1) is finite
      const u2 = this.nextFloat();
      const r = Math.sqrt(-2 * Math.log(u1));
      const theta = 2 * Math.PI * u2;
      out[i] = r * Math.cos(theta);
      if (i + 1 < out.length) out[i + 1] = r * Math.sin(theta);
    }
    return out;
  }

  normal(length: number): Float32Array {
    return this.fillNormal(new Float32Array(length));
  }

  /** A uniformly random permutation of 0..n-1 (Fisher–Yates). */
  permutation(n: number): number[] {
    const perm = Array.from({ length: n }, (_, i) => i);
    for (let i = n - 1; i > 0; i--) {
      const j = this.nextInt(i + 1);
      const tmp = perm[i]!;
      perm[i] = perm[j]!;
      perm[j] = tmp;
    }
    return perm;
  }
}
