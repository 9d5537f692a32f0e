// The GPU table the stack and the trainer share: the memory a job can count on for the instance types it may get.
import { guaranteedGpuMemory, TRAINING_GPUS } from '../../../shared/gpu-instances.ts';
import { assertFitsGpu } from '../../../trainer-image/src/onnx/gpu-fit.ts';

const GiB = 2 ** 30;

describe('guaranteedGpuMemory', () => {
  it('is the smallest GPU among the instance types, and unknown types promise nothing', () => {
    expect(guaranteedGpuMemory(['g5.xlarge'])).toBe(22 * GiB);
    expect(guaranteedGpuMemory(['g6e.xlarge', 'g4dn.xlarge'])).toBe(14.5 * GiB);
    expect(guaranteedGpuMemory(['p4de.24xlarge'])).toBe(79 * GiB);
    expect(guaranteedGpuMemory(['g5.xlarge', 'm5.large'])).toBeUndefined();
    expect(TRAINING_GPUS.map((g) => g.memoryBytes)).toEqual(
      [...TRAINING_GPUS.map((g) => g.memoryBytes)].sort((a, b) => a - b),
    );
  });
});

describe('assertFitsGpu', () => {
  const estimate = { weightBytes: 3.4 * GiB, peakActivationBytes: 14 * GiB, unknownTensors: 0 };
  it('passes a step that fits and refuses one that does not, naming the figures and an instance that fits', () => {
    expect(() => assertFitsGpu(estimate, 44.5 * GiB, 'the step')).not.toThrow();
    expect(() => assertFitsGpu(estimate, 22 * GiB, 'the step')).toThrow(
      /^the step needs about 24\.5 GiB of GPU memory \(weights 3\.4 GiB, activations 19\.6 GiB, CUDA 1\.5 GiB\) but this instance's GPU has 22\.0 GiB: run it on g6e\.xlarge/,
    );
    expect(() => assertFitsGpu({ ...estimate, peakActivationBytes: 100 * GiB }, 22 * GiB, 'x')).toThrow(
      /no single GPU in the table fits it/,
    );
  });
});
