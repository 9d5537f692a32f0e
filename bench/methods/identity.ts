// Textual inversion against DreamBooth-LoRA on the embedded base model, concept by concept: each method trained
// with DVAR in-process at its paper window/threshold (LoRA at the paper's settings, both with the model's
// min-SNR γ), then scored by the project's identity measure (bench/dvar/quality.ts) with the same prompts and
// noise; the initializer word alone is the floor. Prints one JSON document on stdout, progress on stderr.
// Usage: node bench/methods/identity.ts [--quick] [--concepts N] [--lora-lr x] [--ti-cap N] [--lora-cap N]

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { openClassifier } from '../../models/src/classifier/classifier.ts';
import { EXAMPLE_LEARNING_RATE, EXAMPLE_SNR_GAMMA } from '../../models/src/world/example.ts';
import { DvarTracker } from '../../shared/dvar.ts';
import { FolderArtifactStore } from '../../shared/files/folder-artifact-store.ts';
import { METHOD_DEFAULTS } from '../../shared/methods.ts';
import { methodFor } from '../../trainer-image/src/train/methods/index.ts';
import { loadOnnxModel } from '../../trainer-image/src/train/onnx-model.ts';
import {
  type RunSettings,
  runDefaults,
  runPersonalization,
} from '../../trainer-image/src/train/personalize.ts';
import { benchConcepts } from '../dvar/concepts.ts';
import { PAPER_DVAR } from '../dvar/config.ts';
import { conceptScorer } from '../dvar/quality.ts';
import { median } from '../dvar/stats.ts';

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean' },
    concepts: { type: 'string' },
    'lora-lr': { type: 'string' },
    'ti-cap': { type: 'string' },
    'lora-cap': { type: 'string' },
    model: { type: 'string', default: 'models/plateau-world-32' },
    classifier: { type: 'string', default: 'models/plateau-world-classifier/model.onnx' },
  },
});
const quick = values.quick === true;
const count = Number(values.concepts ?? (quick ? 1 : 4));
const loraLr = Number(values['lora-lr'] ?? METHOD_DEFAULTS['dreambooth-lora'].learningRate);
const tiCap = Number(values['ti-cap'] ?? (quick ? 40 : 2000));
const loraCap = Number(values['lora-cap'] ?? (quick ? 40 : METHOD_DEFAULTS['dreambooth-lora'].maxSteps));
const window = (m: 'textual-inversion' | 'dreambooth-lora') => (quick ? 10 : PAPER_DVAR[m].window);
const pipelineDir = resolve(values.model);
const classifier = await openClassifier(resolve(values.classifier), 1);
const log = (line: string) => process.stderr.write(`${line}\n`);

interface MethodRun {
  readonly steps: number;
  readonly stopReason: string;
  readonly trainMsPerStep: number;
  readonly identity: number;
}

const results = [];
for (const concept of benchConcepts('held-out', count, 2026)) {
  const score = await conceptScorer(concept.token, concept.images, {
    pipelineDir,
    classifier,
    identityPrompts: quick ? 2 : 8,
    contextPerBackground: 0,
    samplerSteps: quick ? 4 : 20,
    guidance: 3,
    seed: 2026,
    threads: 1,
  });
  const run = async (
    method: 'textual-inversion' | 'dreambooth-lora',
  ): Promise<MethodRun & { row: Float32Array }> => {
    const out = mkdtempSync(join(tmpdir(), 'plateau-bench-methods-'));
    const settings: RunSettings = {
      ...runDefaults(method),
      method:
        method === 'dreambooth-lora'
          ? { name: method, rank: 4, alpha: 4, targets: 'paper' }
          : { name: method },
      token: concept.token,
      initializerToken: concept.initializer,
      learningRate: method === 'dreambooth-lora' ? loraLr : EXAMPLE_LEARNING_RATE,
      snrGamma: EXAMPLE_SNR_GAMMA,
      maxSteps: method === 'dreambooth-lora' ? loraCap : tiCap,
      // The paper's DVAR evaluates every step (the tracker's window is in values).
      evalEvery: 1,
      checkpointEvery: 100_000,
    };
    const started = performance.now();
    const result = await runPersonalization(settings, {
      pipelineDir,
      images: concept.images,
      loadModel: (request) => loadOnnxModel(request, { device: 'cpu', intraOpThreads: 1 }),
      openSink: async () => ({ write: async () => {}, flush: async () => {} }),
      stopSignal: { check: async () => ({ stop: false }) },
      store: new FolderArtifactStore(out),
      resume: false,
      criterion: () => new DvarTracker({ window: window(method), threshold: PAPER_DVAR[method].threshold }),
    });
    const ms = performance.now() - started;
    const m = methodFor(settings.method ?? { name: 'textual-inversion' });
    const unet = m.unetSurgery ? { surgery: m.unetSurgery, tensors: result.methodTensors } : undefined;
    const { identity } = await score(result.rows, 'identity', unet);
    rmSync(out, { recursive: true, force: true });
    log(
      `${concept.id} ${method}: ${result.steps} steps (${result.stopReason}), identity ${identity.toFixed(4)}`,
    );
    return {
      steps: result.steps,
      stopReason: result.stopReason,
      trainMsPerStep: ms / result.steps,
      identity,
      row: result.rows,
    };
  };
  const ti = await run('textual-inversion');
  const lora = await run('dreambooth-lora');
  // The initializer's own embedding: the row TI starts from, i.e. a zero-step run.
  const initializer = await runPersonalization(
    {
      ...runDefaults('textual-inversion'),
      token: concept.token,
      initializerToken: concept.initializer,
      maxSteps: 0,
    },
    {
      pipelineDir,
      images: concept.images,
      loadModel: (request) => loadOnnxModel(request, { device: 'cpu', intraOpThreads: 1 }),
      openSink: async () => ({ write: async () => {}, flush: async () => {} }),
      stopSignal: { check: async () => ({ stop: false }) },
      store: new FolderArtifactStore(mkdtempSync(join(tmpdir(), 'plateau-bench-methods-'))),
      resume: false,
    },
  );
  const floor = (await score(initializer.rows, 'identity')).identity;
  const strip = ({ row: _row, ...rest }: MethodRun & { row: Float32Array }) => rest;
  results.push({ concept: concept.id, initializerIdentity: floor, ti: strip(ti), lora: strip(lora) });
}

process.stdout.write(
  `${JSON.stringify(
    {
      bench: 'methods-identity',
      mode: quick ? 'quick' : 'full',
      model: values.model,
      settings: {
        ti: { learningRate: EXAMPLE_LEARNING_RATE, cap: tiCap, window: window('textual-inversion') },
        lora: {
          learningRate: loraLr,
          cap: loraCap,
          window: window('dreambooth-lora'),
          rank: 4,
          targets: 'paper',
        },
        snrGamma: EXAMPLE_SNR_GAMMA,
      },
      medians: {
        initializerIdentity: median(results.map((r) => r.initializerIdentity)),
        tiIdentity: median(results.map((r) => r.ti.identity)),
        loraIdentity: median(results.map((r) => r.lora.identity)),
        tiSteps: median(results.map((r) => r.ti.steps)),
        loraSteps: median(results.map((r) => r.lora.steps)),
        loraStepCostOverTi: median(results.map((r) => r.lora.trainMsPerStep / r.ti.trainMsPerStep)),
      },
      concepts: results,
    },
    null,
    2,
  )}\n`,
);
