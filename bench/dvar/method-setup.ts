// What each method needs per concept beyond the loop: its settings (LoRA's rank and targets, Custom Diffusion's
// class word = the concept's shape) and, for Custom Diffusion, the prior-preservation class images, drawn once
// per class word with the base model and cached; plus the model's fingerprint for the run cache.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { WORLD_MODEL_TRAINING } from '../../models/src/world/training-rates.ts';
import { IMAGE_SIZE } from '../../models/src/world/world.ts';
import { FolderArtifactStore } from '../../shared/files/folder-artifact-store.ts';
import { CUSTOM_DIFFUSION_DEFAULTS, LORA_DEFAULTS } from '../../shared/methods.ts';
import type { PixelImage } from '../../trainer-image/src/train/batches.ts';
import { prepareClassImages } from '../../trainer-image/src/train/class-images.ts';
import { customDiffusionClassPrompt } from '../../trainer-image/src/train/methods/custom-diffusion.ts';
import type { MethodConfig } from '../../trainer-image/src/train/methods/index.ts';
import { generateOnnxImages } from '../../trainer-image/src/train/sampler.ts';
import type { BenchConcept } from './concepts.ts';
import type { BenchConfig } from './config.ts';

/** The base model's weights, hashed: a retrained model never reads runs recorded on the old one. */
export function modelStampOf(pipelineDir: string): string {
  return createHash('sha256')
    .update(readFileSync(join(pipelineDir, 'unet', 'model.onnx')))
    .update(readFileSync(join(pipelineDir, 'text_encoder', 'model.onnx')))
    .digest('hex')
    .slice(0, 16);
}

export function methodConfigFor(config: BenchConfig, concept: BenchConcept): MethodConfig {
  switch (config.method) {
    case 'textual-inversion':
      return { name: 'textual-inversion' };
    case 'dreambooth-lora':
      return { name: 'dreambooth-lora', ...LORA_DEFAULTS };
    case 'custom-diffusion':
      // The class word is the concept's shape, the word its token starts from (as the bundled example does).
      return {
        name: 'custom-diffusion',
        ...CUSTOM_DIFFUSION_DEFAULTS,
        classWord: concept.initializer,
        classImages: config.classImages,
        // What a job on this model gets (models/src/world/training-rates.ts).
        randomRescale: WORLD_MODEL_TRAINING['custom-diffusion'].randomRescale !== false,
      };
  }
}

/** Custom Diffusion's class images under `cacheRoot`; undefined for the methods that preserve no prior. */
export function classImagesFor(
  config: BenchConfig,
  pipelineDir: string,
  cacheRoot: string,
  log: (line: string) => void,
): ((concept: BenchConcept) => Promise<readonly PixelImage[]>) | undefined {
  if (config.method !== 'custom-diffusion') return undefined;
  const root = join(cacheRoot, 'class-images', modelStampOf(pipelineDir));
  return async (concept) => {
    const prompt = customDiffusionClassPrompt(concept.initializer);
    const result = await prepareClassImages(
      { prompt, count: config.classImages, seed: config.seed, resolution: IMAGE_SIZE, uploaded: [] },
      {
        store: new FolderArtifactStore(join(root, concept.initializer)),
        generate: (p, count, seed) => generateOnnxImages(pipelineDir, p, count, seed),
      },
    );
    if (result.generated > 0) {
      log(`class images "${prompt}": ${result.generated} drawn in ${result.seconds.toFixed(1)} s`);
    }
    return result.images;
  };
}
