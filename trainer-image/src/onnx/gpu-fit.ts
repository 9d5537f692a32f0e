// Which GPU a training step fits: the estimate (weights + peak activations) plus a fixed allowance for the CUDA
// context and cuBLAS/cuDNN workspaces, against the GPU memory of the instance types Batch may run it on.
import type { MemoryEstimate } from './memory-estimate.ts';

export interface TrainingGpu {
  readonly instance: string;
  readonly gpu: string;
  /** Usable GPU memory in bytes (the nominal size less what the driver reserves). */
  readonly memoryBytes: number;
}

const GiB = 2 ** 30;

/** Single-GPU instance types, smallest memory first (nominal 16/24/48/80 GB, ~0.5 GiB reserved by the driver). */
export const TRAINING_GPUS: readonly TrainingGpu[] = [
  { instance: 'g4dn.xlarge', gpu: 'T4 16 GB', memoryBytes: 14.5 * GiB },
  { instance: 'g5.xlarge', gpu: 'A10G 24 GB', memoryBytes: 22 * GiB },
  { instance: 'g6.xlarge', gpu: 'L4 24 GB', memoryBytes: 22 * GiB },
  { instance: 'g6e.xlarge', gpu: 'L40S 48 GB', memoryBytes: 44.5 * GiB },
  { instance: 'p4de.24xlarge (1 of 8)', gpu: 'A100 80 GB', memoryBytes: 79 * GiB },
];

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
