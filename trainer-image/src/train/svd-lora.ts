// A rank-r LoRA extracted from a weight delta ΔW = W − W₀ by truncated SVD (what kohya's extract_lora_from_models
// does): up = U_r·diag(σ_r), down = V_rᵀ, alpha = r. Lossy; `relativeError` = ‖ΔW − up·down‖_F / ‖ΔW‖_F is the
// fidelity figure to report. Randomized subspace iteration (Halko et al. 2011) in float64, deterministic.

export interface ExtractedLora {
  /** [out, rank], row-major. */
  readonly up: Float32Array;
  /** [rank, in], row-major. */
  readonly down: Float32Array;
  readonly rank: number;
  /** ‖ΔW − up·down‖_F / ‖ΔW‖_F (0 for a zero delta). */
  readonly relativeError: number;
}

export interface ExtractOptions {
  /** Power iterations sharpening the subspace (default 4). */
  readonly iterations?: number;
  /** Extra columns beyond the rank (default 8). */
  readonly oversample?: number;
}

/**
 * Gram–Schmidt on the k columns of a row-major [n, k] matrix, in place, projecting twice ("twice is enough":
 * one pass loses orthogonality when a column nearly lies in the others' span, as for low-rank deltas); a column
 * left with under 1e-10 of its norm is dependent and zeroed, never blown up to unit length.
 */
function orthonormalize(m: Float64Array, n: number, k: number): void {
  const norm = (j: number) => {
    let s = 0;
    for (let i = 0; i < n; i++) s += (m[i * k + j] ?? 0) ** 2;
    return Math.sqrt(s);
  };
  for (let j = 0; j < k; j++) {
    const before = norm(j);
    for (let pass = 0; pass < 2; pass++) {
      for (let p = 0; p < j; p++) {
        let dot = 0;
        for (let i = 0; i < n; i++) dot += (m[i * k + j] ?? 0) * (m[i * k + p] ?? 0);
        for (let i = 0; i < n; i++) m[i * k + j] = (m[i * k + j] ?? 0) - dot * (m[i * k + p] ?? 0);
      }
    }
    const after = norm(j);
    const inv = after > 1e-10 * before && after > 0 ? 1 / after : 0;
    for (let i = 0; i < n; i++) m[i * k + j] = (m[i * k + j] ?? 0) * inv;
  }
}

/** Y [rows, k] = M·X for M [rows, cols] (float32) and X [cols, k]; or Mᵀ·X when `transpose` (then X is [rows, k]). */
function multiply(
  m: Float32Array,
  rows: number,
  cols: number,
  x: Float64Array,
  k: number,
  transpose: boolean,
): Float64Array {
  const out = new Float64Array((transpose ? cols : rows) * k);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      const v = m[r * cols + c] ?? 0;
      if (v === 0) continue;
      const [dst, src] = transpose ? [c, r] : [r, c];
      for (let j = 0; j < k; j++) out[dst * k + j] = (out[dst * k + j] ?? 0) + v * (x[src * k + j] ?? 0);
    }
  }
  return out;
}

/** Eigen-decomposition of a symmetric [k, k] matrix by cyclic Jacobi: eigenvalues and column eigenvectors. */
function symmetricEigen(a: Float64Array, k: number): { values: Float64Array; vectors: Float64Array } {
  const v = new Float64Array(k * k);
  for (let i = 0; i < k; i++) v[i * k + i] = 1;
  const at = (i: number, j: number) => a[i * k + j] ?? 0;
  for (let sweep = 0; sweep < 60; sweep++) {
    let off = 0;
    for (let p = 0; p < k; p++) for (let q = p + 1; q < k; q++) off += at(p, q) ** 2;
    if (off < 1e-30) break;
    for (let p = 0; p < k; p++) {
      for (let q = p + 1; q < k; q++) {
        const apq = at(p, q);
        if (Math.abs(apq) < 1e-300) continue;
        // Rotation angle zeroing a[p][q]: tan(2θ) = 2·a_pq / (a_qq − a_pp).
        const theta = (at(q, q) - at(p, p)) / (2 * apq);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        for (let i = 0; i < k; i++) {
          const aip = at(i, p);
          const aiq = at(i, q);
          a[i * k + p] = c * aip - s * aiq;
          a[i * k + q] = s * aip + c * aiq;
        }
        for (let i = 0; i < k; i++) {
          const api = at(p, i);
          const aqi = at(q, i);
          a[p * k + i] = c * api - s * aqi;
          a[q * k + i] = s * api + c * aqi;
        }
        for (let i = 0; i < k; i++) {
          const vip = v[i * k + p] ?? 0;
          const viq = v[i * k + q] ?? 0;
          v[i * k + p] = c * vip - s * viq;
          v[i * k + q] = s * vip + c * viq;
        }
      }
    }
  }
  return { values: Float64Array.from({ length: k }, (_, i) => at(i, i)), vectors: v };
}

/** The best rank-`rank` approximation of `delta` [out, in] as a LoRA pair, and its relative Frobenius error. */
export function extractLora(
  delta: Float32Array,
  outFeatures: number,
  inFeatures: number,
  rank: number,
  options: ExtractOptions = {},
): ExtractedLora {
  if (delta.length !== outFeatures * inFeatures) {
    throw new Error(`extractLora: ${delta.length} values for [${outFeatures}, ${inFeatures}]`);
  }
  const k = Math.min(rank + (options.oversample ?? 8), outFeatures, inFeatures);
  // A fixed pseudo-random start (xorshift32) so equal deltas give equal files.
  let state = 0x9e3779b9;
  const omega = Float64Array.from({ length: inFeatures * k }, () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) / 2 ** 32 - 0.5;
  });
  let q = multiply(delta, outFeatures, inFeatures, omega, k, false);
  orthonormalize(q, outFeatures, k);
  for (let it = 0; it < (options.iterations ?? 4); it++) {
    const z = multiply(delta, outFeatures, inFeatures, q, k, true);
    orthonormalize(z, inFeatures, k);
    q = multiply(delta, outFeatures, inFeatures, z, k, false);
    orthonormalize(q, outFeatures, k);
  }
  // B = Qᵀ·ΔW [k, in] stored transposed as Bᵀ [in, k]; B·Bᵀ = U_B·Σ²·U_Bᵀ gives the small SVD.
  const bt = multiply(delta, outFeatures, inFeatures, q, k, true);
  const gram = new Float64Array(k * k);
  for (let i = 0; i < inFeatures; i++) {
    for (let a = 0; a < k; a++) {
      const x = bt[i * k + a] ?? 0;
      for (let b = 0; b < k; b++) gram[a * k + b] = (gram[a * k + b] ?? 0) + x * (bt[i * k + b] ?? 0);
    }
  }
  const { values, vectors } = symmetricEigen(gram, k);
  const order = [...values.keys()].sort((x, y) => (values[y] ?? 0) - (values[x] ?? 0)).slice(0, rank);
  const up = new Float32Array(outFeatures * rank);
  const down = new Float32Array(rank * inFeatures);
  order.forEach((col, r) => {
    const sigma = Math.sqrt(Math.max(values[col] ?? 0, 0));
    // u_r = Q·U_B[:, col]; v_r = Bᵀ·U_B[:, col] / σ_r; up keeps σ (kohya: U·diag(S)), down = v_rᵀ.
    for (let o = 0; o < outFeatures; o++) {
      let u = 0;
      for (let a = 0; a < k; a++) u += (q[o * k + a] ?? 0) * (vectors[a * k + col] ?? 0);
      up[o * rank + r] = u * sigma;
    }
    if (sigma === 0) return;
    for (let i = 0; i < inFeatures; i++) {
      let v = 0;
      for (let a = 0; a < k; a++) v += (bt[i * k + a] ?? 0) * (vectors[a * k + col] ?? 0);
      down[r * inFeatures + i] = v / sigma;
    }
  });
  let err = 0;
  let total = 0;
  for (let o = 0; o < outFeatures; o++) {
    for (let i = 0; i < inFeatures; i++) {
      let approx = 0;
      for (let r = 0; r < rank; r++) approx += (up[o * rank + r] ?? 0) * (down[r * inFeatures + i] ?? 0);
      const d = delta[o * inFeatures + i] ?? 0;
      err += (d - approx) ** 2;
      total += d * d;
    }
  }
  return { up, down, rank, relativeError: total === 0 ? 0 : Math.sqrt(err / total) };
}
