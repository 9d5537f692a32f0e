// Trains the attribute classifier and writes models/<name>/ (model.onnx + README.md with its recipe and its
// accuracy on fresh world renders of every colour/shape pair, held-out pairs included).
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { encodeModel } from '../../../trainer-image/src/onnx/codec.ts';
import { Rng } from '../../../trainer-image/src/train/rng.ts';
import {
  CLASSIFIER_DEFAULTS,
  type ClassifierTrainOptions,
  classifierModel,
  FEATURE_SIZE,
  labelledBatch,
  openClassifier,
  trainClassifier,
} from './classifier.ts';

export const CLASSIFIER_NAME = 'plateau-world-classifier';

export interface RenderAccuracy {
  readonly colour: number;
  readonly shape: number;
  readonly both: number;
  readonly images: number;
}

/** Accuracy on `n` fresh renders (its own seed stream, never a training batch). */
export async function renderAccuracy(modelBytes: Uint8Array, n = 480): Promise<RenderAccuracy> {
  const classifier = await openClassifier(modelBytes);
  const batch = labelledBatch(Rng.forStream(1, 'classifier-evaluation'), n);
  const out = await classifier.classify(batch.images, n);
  await classifier.release();
  let colour = 0;
  let shape = 0;
  let both = 0;
  for (let i = 0; i < n; i++) {
    const c = (out.colourTop2[i] ?? [-1, -1]).includes(batch.colours[i] ?? -1);
    const s = out.shape[i] === batch.shapes[i];
    colour += Number(c);
    shape += Number(s);
    both += Number(c && s);
  }
  return { colour: colour / n, shape: shape / n, both: both / n, images: n };
}

export async function makeClassifier(
  outDir: string,
  options: Partial<ClassifierTrainOptions> = {},
): Promise<RenderAccuracy> {
  const o: ClassifierTrainOptions = { ...CLASSIFIER_DEFAULTS, ...options };
  const started = process.cpuUsage();
  const { weights, losses } = await trainClassifier(o);
  const cpu = process.cpuUsage(started);
  const bytes = encodeModel(classifierModel(weights));
  const acc = await renderAccuracy(bytes);
  mkdirSync(outDir, { recursive: true });
  writeFileSync(join(outDir, 'model.onnx'), bytes);
  const last = losses.slice(-50);
  const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
  writeFileSync(
    join(outDir, 'README.md'),
    `# ${CLASSIFIER_NAME}

The world's attribute classifier: a position-invariant CNN (four 3×3 conv → GroupNorm → ReLU blocks, two of them
stride 2, then attention pooling (softmax-weighted over positions) to ${FEATURE_SIZE} features) with a colour head and a shape head. Trained by
the project's own ONNX autodiff and AdamW on world renders of every colour/shape pair (held-out pairs included:
it is the judge, not the generator), soft colour targets (stripes and checker show two colours in equal
parts, dots 80/20), Gaussian pixel noise σ ${o.noise}. \`model.onnx\`: \`image\` [B, 3, 32, 32] in
[−1, 1] → \`colour_logits\`, \`shape_logits\`, \`features\` (cosine similarity of features = image similarity).

- Recipe: seed ${o.seed}, ${o.steps} steps × batch ${o.batchSize}, lr ${o.lr} (cosine to 10%), cross-entropy of both heads
- Final training loss (mean of the last 50 steps): ${(last.reduce((a, b) => a + b, 0) / Math.max(1, last.length)).toFixed(4)}
- Accuracy on ${acc.images} fresh renders: colour (the body colour among the two most likely) ${pct(acc.colour)}, shape ${pct(acc.shape)}, both ${pct(acc.both)}
- CPU time: ${((cpu.user + cpu.system) / 1e6).toFixed(0)} s

Reproduce: \`npm run make-base-model -- --classifier-only\`
`,
  );
  return acc;
}
