// Pretraining batches from the world: scenes whose (colour, shape) is not held out, rendered to the model's
// [B, 3, 32, 32] input in [−1, 1], with captions. Deterministic for an Rng state.
import type { Rng } from '../../../trainer-image/src/train/rng.ts';
import { captionFor, isHeldOut } from './captions.ts';
import { IMAGE_SIZE, renderScene, type Scene, sampleScene, toModelInput } from './world.ts';

export interface WorldBatch {
  readonly images: Float32Array;
  readonly captions: readonly string[];
  readonly scenes: readonly Scene[];
}

/** A scene whose colour/shape pair is allowed in pretraining. */
export function sampleTrainingScene(rng: Rng): Scene {
  for (;;) {
    const scene = sampleScene(rng);
    if (!isHeldOut(scene.colour, scene.shape)) return scene;
  }
}

export function sampleWorldBatch(rng: Rng, batchSize: number, dropEmpty = 0): WorldBatch {
  const per = 3 * IMAGE_SIZE * IMAGE_SIZE;
  const images = new Float32Array(batchSize * per);
  const captions: string[] = [];
  const scenes: Scene[] = [];
  for (let b = 0; b < batchSize; b++) {
    const scene = sampleTrainingScene(rng);
    toModelInput(renderScene(scene), images, b * per);
    captions.push(captionFor(scene, rng, dropEmpty));
    scenes.push(scene);
  }
  return { images, captions, scenes };
}
