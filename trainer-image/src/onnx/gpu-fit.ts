// Which GPU a training step fits: the estimate (weights + peak activations) plus a fixed allowance for the CUDA
// context and cuBLAS/cuDNN workspaces, against the GPU memory of the instance types Batch may run it on.
import { TRAINING_GPUS, type TrainingGpu } from '../../../shared/gpu-instances.ts';
import type { MemoryEstimate } from './memory-estimate.ts';

export { TRAINING_GPUS, type TrainingGpu };

const GiB = 2 ** 30;

/** CUDA context and cuBLAS/cuDNN workspaces: a flat allowance. */
export const GPU_OVERHEAD_BYTES = 1.5 * GiB;
/**
 * onnxruntime's arena holds more than the live tensors (rounding, buffers kept for reuse): on SD 1.5 at 256 px,
 * batch 2, the estimate is 1.66 GiB and the CPU session's anonymous memory grew by 2.27 GiB in a step (1.37×).
 */
export const ACTIVATION_FACTOR = 1.4;

export function memoryEstimateFits(estimate: MemoryEstimate): {
  readonly requiredBytes: number;
  readonly fitting: readonly TrainingGpu[];
  readonly smallest: TrainingGpu | undefined;
} {
  const requiredBytes =
    estimate.weightBytes + ACTIVATION_FACTOR * estimate.peakActivationBytes + GPU_OVERHEAD_BYTES;
  const fitting = TRAINING_GPUS.filter((g) => g.memoryBytes >= requiredBytes);
  return { requiredBytes, fitting, smallest: fitting[0] };
}

/**
 * Throws, before training, when a step needs more GPU memory than the instance offers, naming both figures and
 * the smallest instance type that fits (or saying none does).
 */
export function assertFitsGpu(estimate: MemoryEstimate, gpuMemoryBytes: number, what: string): void {
  const { requiredBytes, smallest } = memoryEstimateFits(estimate);
  if (requiredBytes <= gpuMemoryBytes) return;
  const gib = (b: number) => `${(b / GiB).toFixed(1)} GiB`;
  const advice = smallest
    ? `run it on ${smallest.instance} (${smallest.gpu}) or larger, or lower the batch size or resolution`
    : 'no single GPU in the table fits it: lower the batch size or resolution';
  throw new Error(
    `${what} needs about ${gib(requiredBytes)} of GPU memory (weights ${gib(estimate.weightBytes)}, ` +
      `activations ${gib(ACTIVATION_FACTOR * estimate.peakActivationBytes)}, CUDA ${gib(GPU_OVERHEAD_BYTES)}) ` +
      `but this instance's GPU has ${gib(gpuMemoryBytes)}: ${advice}`,
  );
}
