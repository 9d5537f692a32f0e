/** @jest-environment ./test/onnx/support/onnx-environment.cjs */
// The attribute classifier: a short training run lowers its cross-entropy, and the exported ONNX model gives
// logits and features of the right shapes for a batch of world renders.
import {
  classifierModel,
  FEATURE_SIZE,
  labelledBatch,
  openClassifier,
  trainClassifier,
} from '../../../../models/src/classifier/classifier.ts';
import { encodeModel } from '../../../../trainer-image/src/onnx/codec.ts';
import { Rng } from '../../../../trainer-image/src/train/rng.ts';

const mean = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

// Generous timeouts: a few seconds of CPU, but the shared CI machine may be busy.
describe('attribute classifier', () => {
  it('learns (loss decreases) and exports a runnable model', async () => {
    const { weights, losses } = await trainClassifier({
      seed: 1,
      steps: 30,
      batchSize: 4,
      lr: 5e-3,
      noise: 0.05,
      threads: 1,
    });
    expect(mean(losses.slice(-6))).toBeLessThan(mean(losses.slice(0, 6)));
    const classifier = await openClassifier(encodeModel(classifierModel(weights)));
    const batch = labelledBatch(Rng.forStream(2, 'cls-test'), 5);
    const out = await classifier.classify(batch.images, 5);
    expect(out.colour).toHaveLength(5);
    expect(out.shape).toHaveLength(5);
    expect(out.features).toHaveLength(5 * FEATURE_SIZE);
    await classifier.release();
  }, 180_000);
});
