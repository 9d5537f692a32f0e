// estimateMemory: weights counted once, activations live from producer to last consumer, the peak over the node
// order; gpu-fit picks the smallest GPU the estimate (with the arena factor and the CUDA allowance) fits.
import {
  ACTIVATION_FACTOR,
  GPU_OVERHEAD_BYTES,
  memoryEstimateFits,
} from '../../../trainer-image/src/onnx/gpu-fit.ts';
import { GraphBuilder } from '../../../trainer-image/src/onnx/graph-builder.ts';
import { estimateMemory } from '../../../trainer-image/src/onnx/memory-estimate.ts';
import { DataType } from '../../../trainer-image/src/onnx/model.ts';

describe('estimateMemory', () => {
  it('frees a tensor after its last reader and reports the peak', () => {
    const b = new GraphBuilder();
    b.input('x', DataType.FLOAT, ['batch', 3]);
    b.initializer('w', { dataType: DataType.FLOAT, dims: [3], values: [1, 2, 3] });
    b.node('Add', ['x', 'w'], ['y']);
    b.node('Relu', ['y'], ['z']);
    b.node('Mul', ['y', 'z'], ['out']);
    b.output('out', DataType.FLOAT, ['batch', 3]);
    const g = b.build(14).graph;
    // x (24 B) → y: 48, x freed → z: 48, y and z live → out: 72, y and z freed → 24.
    expect(estimateMemory(g, 14, { x: [2, 3] })).toEqual({
      weightBytes: 12,
      peakActivationBytes: 72,
      unknownTensors: 0,
    });
    expect(estimateMemory(g, 14, {}).unknownTensors).toBeGreaterThan(0);
  });
});

describe('memoryEstimateFits', () => {
  it('adds the arena factor and the CUDA allowance, and picks the smallest GPU that fits', () => {
    const GiB = 2 ** 30;
    const fits = memoryEstimateFits({
      weightBytes: 3.66 * GiB,
      peakActivationBytes: 10.89 * GiB,
      unknownTensors: 0,
    });
    expect(fits.requiredBytes).toBeCloseTo(3.66 * GiB + ACTIVATION_FACTOR * 10.89 * GiB + GPU_OVERHEAD_BYTES);
    expect(fits.smallest?.instance).toBe('g5.xlarge');
    const huge = memoryEstimateFits({ weightBytes: 100 * GiB, peakActivationBytes: 0, unknownTensors: 0 });
    expect(huge.smallest).toBeUndefined();
  });
});
