// What Custom Diffusion's random rescale costs per training step (issue 14 part 3): on one fixture, the whole step
// as the trainer runs it — making the batch (cached latents, or rescaled images re-encoded by the VAE) plus loss
// and gradient — for textual inversion, Custom Diffusion without and with the rescale (2 instance + 2 class
// items, as with prior preservation), timed in turns at one thread so load swings hit all alike. Prints one JSON
// line per fixture. Usage: node bench/methods/cd-step-cost.ts [--runs N] [--threads N] [fixture ...]

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { FIXTURES_DIR } from '../../test/support/fixtures.ts';
import {
  batchSource,
  buildLatentCache,
  type PixelImage,
  type TrainBatch,
} from '../../trainer-image/src/train/batches.ts';
import { parseSchedulerConfig } from '../../trainer-image/src/train/ddpm.ts';
import { customDiffusion } from '../../trainer-image/src/train/methods/custom-diffusion.ts';
import type { BatchSource } from '../../trainer-image/src/train/objective.ts';
import { loadOnnxModel } from '../../trainer-image/src/train/onnx-model.ts';
import type { ModelRequest, TrainingModel } from '../../trainer-image/src/train/personalize.ts';
import { Rng } from '../../trainer-image/src/train/rng.ts';
import { loadTokenizer } from '../../trainer-image/src/train/tokenizer.ts';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { runs: { type: 'string', default: '15' }, threads: { type: 'string', default: '1' } },
});
const runs = Number(values.runs);
const threads = Number(values.threads);
const names = positionals.length > 0 ? positionals : ['tiny-sd15topo'];
const median = (xs: readonly number[]) =>
  [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? Number.NaN;

/** Synthetic square images at the pipeline's resolution (content does not change the timing). */
function images(side: number, count: number, phase: number): PixelImage[] {
  return Array.from({ length: count }, (_, k) => ({
    channels: 3,
    height: side,
    width: side,
    data: Float32Array.from({ length: 3 * side * side }, (_, i) => Math.sin(i * 0.01 * (k + 1) + phase)),
  }));
}

interface Variant {
  readonly model: TrainingModel;
  readonly batches: BatchSource<TrainBatch>;
  readonly params: Float32Array;
  readonly rng: Rng;
}

for (const name of names) {
  const dir = join(FIXTURES_DIR, name);
  const tokenizer = await loadTokenizer(join(dir, 'tokenizer'));
  const initializerId = await tokenizer.initializerId('toy');
  const placeholderId = await tokenizer.addPlaceholderToken('<tok>');
  const caption = await tokenizer.encode('a photo of a <tok> toy');
  const classCaption = await tokenizer.encode('a photo of a toy');
  const hinted = {
    'far.0': [await tokenizer.encode('a far away a photo of a <tok> toy')],
    'near.0': [await tokenizer.encode('zoomed in a photo of a <tok> toy')],
  };
  const schedule = parseSchedulerConfig(
    JSON.parse(readFileSync(join(dir, 'scheduler', 'scheduler_config.json'), 'utf8')),
  );
  // The VAE encoder's fixed input side (the exports fix it; tiny-sd15topo: 32 px → 4×4 latents).
  const vaeConfig = JSON.parse(readFileSync(join(dir, 'vae_encoder', 'config.json'), 'utf8')) as {
    sample_size?: number;
  };
  const side = vaeConfig.sample_size ?? 32;
  const instance = images(side, 4, 0);
  const classes = images(side, 8, 1);

  const open = async (kind: 'ti' | 'cd' | 'cd-rescale'): Promise<Variant> => {
    const method =
      kind === 'ti'
        ? undefined
        : customDiffusion({
            classWord: 'toy',
            classImages: 8,
            priorPreservation: true,
            priorLossWeight: 1,
            maxGradNorm: 1,
            randomRescale: kind === 'cd-rescale',
          });
    const withPrior = kind !== 'ti';
    const request: ModelRequest = {
      pipelineDir: dir,
      placeholderId,
      initializerId,
      vocabSize: tokenizer.vocabSize,
      nVectors: 1,
      schedule,
      batchSize: withPrior ? 4 : 2,
      evalBatchSize: 2,
      ...(method?.unetSurgery ? { unetSurgery: method.unetSurgery } : {}),
      ...(kind === 'cd-rescale' ? { lossWeights: true } : {}),
    };
    const model = await loadOnnxModel(request, { device: 'cpu', intraOpThreads: threads });
    const initRng = Rng.forStream(59, 'init');
    const parts = [
      model.initialRows,
      ...(model.methodTensors ?? []).map((t) => method?.initial(t, initRng) ?? new Float32Array(0)),
    ];
    const params = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
    let offset = 0;
    for (const p of parts) {
      params.set(p, offset);
      offset += p.length;
    }
    const cache = await buildLatentCache(instance, model.encodeVae, { seed: 59, scalingFactor: 0.18215 });
    const prior = withPrior
      ? {
          cache: await buildLatentCache(classes, model.encodeVae, {
            seed: 59,
            scalingFactor: 0.18215,
            stream: 'class-latents',
          }),
          promptIds: classCaption,
        }
      : undefined;
    const batches = batchSource({
      cache,
      schedule,
      promptIds: [caption],
      batchSize: 2,
      evalBatchSize: 2,
      seed: 59,
      ...(prior ? { prior } : {}),
      ...(kind === 'cd-rescale'
        ? {
            lossWeights: { prior: 1 },
            rescale: { images: instance, encode: model.encodeVae, hintedPromptIds: hinted },
          }
        : {}),
    });
    return { model, batches, params, rng: Rng.forStream(59, 'train') };
  };
  const variants = { ti: await open('ti'), cd: await open('cd'), cdRescale: await open('cd-rescale') };
  type Key = keyof typeof variants;
  const batchMs: Record<Key, number[]> = { ti: [], cd: [], cdRescale: [] };
  const stepMs: Record<Key, number[]> = { ti: [], cd: [], cdRescale: [] };
  for (let i = 0; i <= runs; i++) {
    for (const [key, v] of Object.entries(variants) as [Key, Variant][]) {
      const t0 = performance.now();
      const batch = await v.batches.train(v.rng);
      const t1 = performance.now();
      await v.model.objective.lossAndGradient(v.params, batch);
      const t2 = performance.now();
      if (i > 0) {
        batchMs[key].push(t1 - t0);
        stepMs[key].push(t2 - t0);
      }
    }
  }
  for (const v of Object.values(variants)) await v.model.release();
  const med = (r: Record<Key, number[]>) =>
    Object.fromEntries(Object.entries(r).map(([k, v]) => [k, Number(median(v).toFixed(2))])) as Record<
      Key,
      number
    >;
  const step = med(stepMs);
  const batch = med(batchMs);
  process.stdout.write(
    `${JSON.stringify({
      bench: 'cd-step-cost',
      fixture: name,
      image_side: side,
      runs,
      threads,
      // Whole training step (batch making + loss and gradient), median ms; TI at batch 2, CD at 2 + 2 class items.
      step_ms: step,
      batch_ms: batch,
      rescale_step_over_cd_step: Number((step.cdRescale / step.cd).toFixed(3)),
      cd_step_over_ti_step: Number((step.cd / step.ti).toFixed(3)),
      peak_rss_mb: Math.round(process.resourceUsage().maxRSS / 1024),
    })}\n`,
  );
}
