// After `plateau start`'s job: validation samples with the learned token (samples/*.png next to the outputs) and
// the concept similarity of learned token vs initializer word, scored by the project's attribute classifier.
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { openClassifier } from '../../models/src/classifier/classifier.ts';
import { conceptSimilarity } from '../../models/src/classifier/concept-similarity.ts';
import { openPipelineSampler } from '../../models/src/sampler/pipeline-sampler.ts';
import { encodeGridPng, encodePng } from '../../models/src/world/png.ts';
import { fromModelOutput, IMAGE_SIZE, toModelInput } from '../../models/src/world/world.ts';
import { readSafetensors, toFloat32 } from '../../shared/safetensors.ts';
import { modelSampleGuidance } from '../../trainer-image/src/train/sampler.ts';
import { fillTemplate, OBJECT_TEMPLATES } from '../../trainer-image/src/train/templates.ts';

export interface ValidationRequest {
  readonly root: string;
  readonly outDir: string;
  readonly modelDir: string;
  readonly token: string;
  readonly initializerToken: string;
  readonly conceptImagesDir: string;
  readonly classifierPath: string;
}

export interface ValidationResult {
  readonly samplesDir: string;
  readonly learnedSimilarity: number;
  readonly initializerSimilarity: number;
  readonly prompts: readonly string[];
}

const SAMPLE_TEMPLATES = OBJECT_TEMPLATES.slice(0, 8);
const SEED = 3;

function findEmbedding(dir: string, token: string): string {
  const wanted = `${token}.safetensors`;
  const walk = (d: string): string | undefined => {
    for (const entry of readdirSync(d, { withFileTypes: true })) {
      const path = join(d, entry.name);
      if (entry.isDirectory()) {
        const found = walk(path);
        if (found) return found;
      } else if (entry.name === wanted) return path;
    }
    return undefined;
  };
  const path = walk(dir);
  if (!path) throw new Error(`no ${wanted} under ${dir}: the job finished without an embedding`);
  return path;
}

/** The concept's PNGs in `dir`, at the model's size, as the classifier's input. */
export async function conceptImages(dir: string): Promise<{ data: Float32Array; count: number }> {
  const sharp = (await import('sharp')).default;
  const files = readdirSync(dir)
    .filter((f) => f.endsWith('.png'))
    .sort();
  const data = new Float32Array(files.length * 3 * IMAGE_SIZE * IMAGE_SIZE);
  for (const [i, file] of files.entries()) {
    const rgb = await sharp(readFileSync(join(dir, file)))
      .removeAlpha()
      .resize(IMAGE_SIZE, IMAGE_SIZE)
      .raw()
      .toBuffer();
    toModelInput(new Uint8Array(rgb), data, i * 3 * IMAGE_SIZE * IMAGE_SIZE);
  }
  return { data, count: files.length };
}

export async function validateExample(request: ValidationRequest): Promise<ValidationResult> {
  const file = readSafetensors(readFileSync(findEmbedding(request.outDir, request.token)));
  const tensor = file.tensors.get(request.token);
  if (!tensor) throw new Error(`the embedding file has no tensor named '${request.token}'`);
  const row = toFloat32(tensor);
  const learnedPrompts = SAMPLE_TEMPLATES.map((t) => fillTemplate(t, request.token));
  const initializerPrompts = SAMPLE_TEMPLATES.map((t) => fillTemplate(t, request.initializerToken));
  const concept = await conceptImages(request.conceptImagesDir);
  const classifier = await openClassifier(request.classifierPath);
  const sampler = await openPipelineSampler(request.modelDir, {
    learned: { token: request.token, rows: row },
  });
  try {
    // The model's own scale (model_index.json; 3 for the embedded model: SD's 7.5 over-saturates it).
    const options = { seed: SEED, guidance: modelSampleGuidance(request.modelDir) };
    const learnedSimilarity = await conceptSimilarity(sampler, classifier, concept.data, concept.count, {
      prompts: learnedPrompts,
      ...options,
    });
    const initializerSimilarity = await conceptSimilarity(sampler, classifier, concept.data, concept.count, {
      prompts: initializerPrompts,
      ...options,
    });
    const images = await sampler.sample(learnedPrompts, options);
    const samplesDir = join(request.outDir, 'samples');
    mkdirSync(samplesDir, { recursive: true });
    const pixels = 3 * IMAGE_SIZE * IMAGE_SIZE;
    const rgbs = learnedPrompts.map((_, i) => fromModelOutput(images, i * pixels));
    for (const [i, rgb] of rgbs.entries()) {
      writeFileSync(join(samplesDir, `sample-${i}.png`), await encodePng(rgb, IMAGE_SIZE, 4));
    }
    writeFileSync(join(samplesDir, 'grid.png'), await encodeGridPng(rgbs, IMAGE_SIZE, 4, 4));
    const result = { samplesDir, learnedSimilarity, initializerSimilarity, prompts: learnedPrompts };
    writeFileSync(join(samplesDir, 'validation.json'), `${JSON.stringify(result, null, 2)}\n`);
    return result;
  } finally {
    await sampler.release();
  }
}
