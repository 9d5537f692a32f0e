// Evaluation helpers: the seen comparison pairs are never held out and share the held-out shapes; cosine
// similarity is 1 for parallel and 0 for orthogonal feature vectors.
import { cosineSimilarity } from '../../../../models/src/classifier/classifier.ts';
import { seenPairs } from '../../../../models/src/classifier/evaluate.ts';
import { HELD_OUT, isHeldOut } from '../../../../models/src/world/captions.ts';

describe('evaluation helpers', () => {
  it('pairs every held-out shape with a seen colour', () => {
    const seen = seenPairs();
    expect(seen.map(([, s]) => s)).toEqual(HELD_OUT.map(([, s]) => s));
    expect(seen.some(([c, s]) => isHeldOut(c, s))).toBe(false);
  });

  it('computes cosine similarity', () => {
    expect(cosineSimilarity(Float32Array.from([1, 2]), Float32Array.from([2, 4]))).toBeCloseTo(1, 6);
    expect(cosineSimilarity(Float32Array.from([1, 0]), Float32Array.from([0, 3]))).toBe(0);
  });
});
