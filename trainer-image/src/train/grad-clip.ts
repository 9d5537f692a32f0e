// Gradient-norm clipping over all trained tensors together, as torch.nn.utils.clip_grad_norm_ (Custom Diffusion
// clips at 1.0): g ← g · min(1, maxNorm / (‖g‖₂ + 1e-6)), in place, before the optimizer sees the gradient.

/** Scales `grad` in place so its L2 norm is at most `maxNorm`; returns the norm before clipping. */
export function clipGradNorm(grad: Float32Array, maxNorm: number): number {
  if (!(maxNorm > 0)) throw new Error(`maxGradNorm must be positive (got ${maxNorm})`);
  // The sum of squares in float64: 19 M float32 terms would lose their tail in a float32 accumulator.
  let sum = 0;
  for (let i = 0; i < grad.length; i++) {
    const g = grad[i]!;
    sum += g * g;
  }
  const norm = Math.sqrt(sum);
  // torch's clip coefficient, clamped to 1: gradients already within the bound stay bit-for-bit unchanged.
  const coef = maxNorm / (norm + 1e-6);
  if (coef < 1) {
    const c = Math.fround(coef);
    for (let i = 0; i < grad.length; i++) grad[i] = grad[i]! * c;
  }
  return norm;
}
