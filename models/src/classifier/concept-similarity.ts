// How much samples look like a concept, the way the DVAR paper uses CLIP image similarity: mean cosine similarity
// between the attribute classifier's features of each sample and of each concept image. Run for the learned
// token and for the initializer word, it says whether textual inversion learned something no prompt could say.
import type { PipelineSampler } from '../sampler/pipeline-sampler.ts';
import { type AttributeClassifier, cosineSimilarity, FEATURE_SIZE } from './classifier.ts';

export interface SimilarityOptions {
  readonly prompts: readonly string[];
  readonly seed: number;
  readonly steps?: number;
  readonly guidance?: number;
}

/** Mean over samples × concept images of the feature cosine similarity. */
export async function conceptSimilarity(
  sampler: PipelineSampler,
  classifier: AttributeClassifier,
  conceptImages: Float32Array,
  conceptCount: number,
  o: SimilarityOptions,
): Promise<number> {
  const concept = (await classifier.classify(conceptImages, conceptCount)).features;
  const images = await sampler.sample(o.prompts, {
    seed: o.seed,
    ...(o.steps ? { steps: o.steps } : {}),
    ...(o.guidance ? { guidance: o.guidance } : {}),
  });
  const samples = (await classifier.classify(images, o.prompts.length)).features;
  let total = 0;
  for (let i = 0; i < o.prompts.length; i++) {
    const a = samples.subarray(i * FEATURE_SIZE, (i + 1) * FEATURE_SIZE);
    for (let j = 0; j < conceptCount; j++) {
      total += cosineSimilarity(a, concept.subarray(j * FEATURE_SIZE, (j + 1) * FEATURE_SIZE));
    }
  }
  return total / (o.prompts.length * conceptCount);
}
