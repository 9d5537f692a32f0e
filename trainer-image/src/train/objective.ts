// The seams of the training loop: what it optimizes (a loss and its gradient with respect to the packed
// trainable tensors, on a batch) and where batches come from. The real implementation runs the ONNX training graph; unit
// tests inject a small analytic objective so the loop's logic is tested without a model.
import type { Rng } from './rng.ts';

export interface LossAndGradient<Batch> {
  /** Loss and d loss / d params on one batch (the training step); the gradient is packed like `params`. */
  lossAndGradient(params: Float32Array, batch: Batch): Promise<{ loss: number; gradient: Float32Array }>;
  /** Loss only (the deterministic evaluation: one forward pass, no gradient). */
  loss(params: Float32Array, batch: Batch): Promise<number>;
}

export interface BatchSource<Batch> {
  /**
   * A fresh training batch; every random draw comes from `rng` (the training stream). A promise when making it
   * runs a model (Custom Diffusion's rescale re-encodes images); the loop awaits it before drawing again.
   */
  train(rng: Rng): Batch | Promise<Batch>;
  /** The fixed evaluation batch, built once from its own stream. */
  readonly eval: Batch;
}

/** A stopping rule fed with the deterministic losses in step order (DVAR in standalone mode). */
export interface StopCriterion {
  push(loss: number): { readonly ratio?: number | null; readonly holds: boolean };
}
