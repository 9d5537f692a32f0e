// Makes the base model end to end: pretrain (resumable), write the EMA weights in the diffusers ONNX layout,
// time one textual-inversion step, draw a colour × shape contact sheet and write the
// model card. `npm run make-base-model` is a thin command-line wrapper around makeBaseModel().
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SAMPLE_GUIDANCE_KEY } from '../../../shared/model-index.ts';
import { buildGradientGraph } from '../../../trainer-image/src/autodiff/build-gradient-graph.ts';
import { encodeModel } from '../../../trainer-image/src/onnx/codec.ts';
import { Session } from '../../../trainer-image/src/runtime/session.ts';
import { textualInversionForwardModel } from '../builder/components.ts';
import type { BaseModelConfig } from '../builder/config.ts';
import type { Weights } from '../builder/model-graph.ts';
import { addModelIndexFields, writeModelPackage } from '../builder/write-package.ts';
import { openClassifier } from '../classifier/classifier.ts';
import { type Evaluation, evaluateBaseModel } from '../classifier/evaluate.ts';
import { openPipelineSampler } from '../sampler/pipeline-sampler.ts';
import { encodeGridPng } from '../world/png.ts';
import { COLOURS, fromModelOutput, SHAPES } from '../world/world.ts';
import { finalLoss, type GuidanceScore, modelCard } from './model-card.ts';
import { type PretrainOptions, type PretrainResult, pretrain } from './pretrain.ts';

export interface MakeOptions extends PretrainOptions {
  readonly outDir: string;
  /** The command line recorded in the card. */
  readonly command: string;
  readonly sampleSteps: number;
  /**
   * Classifier-free guidance scales to try: with a classifier, each is judged on the seen pairs and the best one
   * (ties: the first) draws the sheet and is the card's figure; held-out pairs never choose it. Without, the first.
   */
  readonly guidances: readonly number[];
  readonly sampleSeed: number;
  /** The attribute classifier's model.onnx: when it exists, held-out pairs are sampled and judged for the card. */
  readonly classifierPath?: string;
  readonly log?: (line: string) => void;
}

/**
 * Median wall time of a textual-inversion step on one thread: batch 2, loss + gradient of the token row, on the
 * same objective the trainer builds (token table grown by the row, noised sample, UNet, MSE).
 */
export async function measureTiStepMs(
  config: BaseModelConfig,
  weights: Weights,
  repeats = 15,
): Promise<number> {
  const { model, gradients } = buildGradientGraph(textualInversionForwardModel(config, weights), {
    loss: 'loss',
    wrt: ['placeholder_rows'],
  });
  const session = await Session.create(encodeModel(model), { intraOpThreads: 1 });
  const B = 2;
  const d = config.textEncoder.hiddenSize;
  const per = 3 * 32 * 32;
  const ids = new BigInt64Array(B * 77).fill(1n);
  ids[1] = BigInt(config.textEncoder.vocabSize);
  const feeds = {
    placeholder_rows: { dataType: 1, dims: [1, d], data: new Float32Array(d).fill(0.1) },
    input_ids: { dataType: 7, dims: [B, 77], data: ids },
    noisy: { dataType: 1, dims: [B, 3, 32, 32], data: new Float32Array(B * per).fill(0.2) },
    noise: { dataType: 1, dims: [B, 3, 32, 32], data: new Float32Array(B * per).fill(-0.3) },
    timestep: { dataType: 7, dims: [B], data: BigInt64Array.from([100n, 700n]) },
  };
  const outputs = ['loss', gradients.placeholder_rows ?? ''];
  const times: number[] = [];
  for (let i = 0; i < repeats + 2; i++) {
    const started = performance.now();
    await session.run(feeds, outputs);
    if (i >= 2) times.push(performance.now() - started);
  }
  await session.release();
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)] ?? Number.NaN;
}

export async function makeBaseModel(o: MakeOptions): Promise<PretrainResult> {
  const log = o.log ?? (() => {});
  const result = await pretrain(o);
  log(`pretrained ${result.step} steps, final loss ${finalLoss(result.losses).toFixed(4)}`);
  mkdirSync(o.outDir, { recursive: true });
  writeModelPackage(o.outDir, result.config, result.ema, result.vocab, {
    extra: { _plateau_pretraining: { steps: result.step, seed: o.seed } },
    prediction: result.prediction,
  });
  const tiStepMs = await measureTiStepMs(result.config, result.ema);
  log(`textual-inversion step: ${tiStepMs.toFixed(1)} ms`);

  const sampler = await openPipelineSampler(o.outDir, { threads: o.threads });
  const prompts = SHAPES.flatMap((shape) => COLOURS.map((colour) => `a photo of a ${colour} ${shape}`));
  let guidance = o.guidances[0] ?? 3;
  let evaluation: Evaluation | undefined;
  const sweep: GuidanceScore[] = [];
  if (o.classifierPath && existsSync(o.classifierPath)) {
    const classifier = await openClassifier(o.classifierPath, o.threads);
    for (const g of o.guidances) {
      const e = await evaluateBaseModel(sampler, classifier, {
        seed: o.sampleSeed + 1,
        steps: o.sampleSteps,
        guidance: g,
        perPair: 8,
      });
      sweep.push({ guidance: g, seenAccuracy: e.seenAccuracy, heldOutAccuracy: e.heldOutAccuracy });
      log(
        `guidance ${g}: seen ${(100 * e.seenAccuracy).toFixed(1)}%, held out ${(100 * e.heldOutAccuracy).toFixed(1)}%`,
      );
      if (!evaluation || e.seenAccuracy > evaluation.seenAccuracy) {
        evaluation = e;
        guidance = g;
      }
    }
    await classifier.release();
    log(
      `guidance ${guidance} chosen on seen pairs; held-out pairs judged right: ${(100 * (evaluation?.heldOutAccuracy ?? 0)).toFixed(1)}%`,
    );
  }
  // The package says at which guidance its samples look right, so validation samples use it (shared/model-index.ts).
  addModelIndexFields(o.outDir, { [SAMPLE_GUIDANCE_KEY]: guidance });
  const images = await sampler.sample(prompts, { seed: o.sampleSeed, steps: o.sampleSteps, guidance });
  await sampler.release();
  const per = 3 * sampler.imageSize * sampler.imageSize;
  const rgb = prompts.map((_, k) => fromModelOutput(images, k * per));
  const sheet = 'contact-sheet.png';
  writeFileSync(join(o.outDir, sheet), await encodeGridPng(rgb, sampler.imageSize, COLOURS.length, 3));
  const parameterCount = result.params.reduce((a, p) => a + p.dims.reduce((x, y) => x * y, 1), 0);
  writeFileSync(
    join(o.outDir, 'README.md'),
    modelCard({
      config: result.config,
      recipe: {
        seed: o.seed,
        batchSize: o.batchSize,
        lr: o.lr,
        warmupSteps: o.warmupSteps,
        emaDecay: o.emaDecay,
        dropEmpty: o.dropEmpty,
        clipNorm: o.clipNorm,
        ...(result.prediction === 'v_prediction'
          ? { vPredictionFrom: o.vPredictionFrom, minSnrGamma: o.minSnrGamma }
          : {}),
      },
      steps: result.step,
      losses: result.losses,
      cpuSeconds: result.cpuSeconds,
      prediction: result.prediction,
      parameterCount,
      command: o.command,
      sheet: { file: sheet, rows: [...SHAPES], cols: [...COLOURS] },
      sampling: { steps: o.sampleSteps, guidance, seed: o.sampleSeed },
      guidanceSweep: sweep,
      tiStepMs,
      ...(evaluation ? { evaluation } : {}),
    }),
  );
  log(`wrote ${o.outDir}`);
  return result;
}
