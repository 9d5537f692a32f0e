/** @jest-environment ./test/onnx/support/onnx-environment.cjs */
// Held-out evaluation and concept similarity run end to end on a tiny random package with a barely trained
// classifier: every pair is scored on the requested number of images, and similarities are cosines in [−1, 1].
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pretrainForwardModel } from '../../../../models/src/builder/components.ts';
import { baseModelConfig } from '../../../../models/src/builder/config.ts';
import { initialWeights } from '../../../../models/src/builder/model-graph.ts';
import { writeModelPackage } from '../../../../models/src/builder/write-package.ts';
import {
  classifierModel,
  labelledBatch,
  openClassifier,
  trainClassifier,
} from '../../../../models/src/classifier/classifier.ts';
import { conceptSimilarity } from '../../../../models/src/classifier/concept-similarity.ts';
import { evaluateBaseModel } from '../../../../models/src/classifier/evaluate.ts';
import { openPipelineSampler } from '../../../../models/src/sampler/pipeline-sampler.ts';
import { HELD_OUT, vocabulary } from '../../../../models/src/world/captions.ts';
import { encodeModel } from '../../../../trainer-image/src/onnx/codec.ts';
import { Rng } from '../../../../trainer-image/src/train/rng.ts';

let dir = '';
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'plateau-evaluate-'));
  const vocab = vocabulary();
  const cfg = baseModelConfig(vocab.length, 'tiny');
  writeModelPackage(dir, cfg, initialWeights(pretrainForwardModel(cfg).params, 4), vocab);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('base model evaluation', () => {
  it('scores held-out and seen pairs and measures concept similarity', async () => {
    const { weights } = await trainClassifier({
      seed: 2,
      steps: 1,
      batchSize: 2,
      lr: 1e-3,
      noise: 0,
      threads: 1,
    });
    const classifier = await openClassifier(encodeModel(classifierModel(weights)));
    const sampler = await openPipelineSampler(dir);
    const evaluation = await evaluateBaseModel(sampler, classifier, {
      perPair: 1,
      seed: 1,
      steps: 2,
      guidance: 2,
    });
    expect(evaluation.heldOut).toHaveLength(HELD_OUT.length);
    expect(evaluation.seen).toHaveLength(HELD_OUT.length);
    expect(evaluation.heldOut.every((s) => s.images === 1 && s.bothCorrect <= s.colourCorrect)).toBe(true);
    expect(evaluation.heldOutAccuracy).toBeGreaterThanOrEqual(0);
    expect(evaluation.heldOutAccuracy).toBeLessThanOrEqual(1);
    const concept = labelledBatch(Rng.forStream(3, 'concept'), 2).images;
    const similarity = await conceptSimilarity(sampler, classifier, concept, 2, {
      prompts: ['a photo of a red ring', 'a photo of a blue circle'],
      seed: 1,
      steps: 2,
    });
    expect(similarity).toBeGreaterThanOrEqual(-1);
    expect(similarity).toBeLessThanOrEqual(1);
    await sampler.release();
    await classifier.release();
  }, 180_000);
});
