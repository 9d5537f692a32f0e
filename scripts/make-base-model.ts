// `npm run make-base-model [-- --steps N --minutes M --threads T --size tiny --out DIR --checkpoint FILE]` writes the example
// concept (examples/), pretrains the embedded base model (seeded, resumable, progress bar on stderr) and writes
// models/<name>/ with its card; Ctrl-C or --minutes stops with a checkpoint. --example-only, --classifier-only.
import { parseArgs } from 'node:util';
import { baseModelConfig } from '../models/src/builder/config.ts';
import { CLASSIFIER_NAME, makeClassifier } from '../models/src/classifier/make-classifier.ts';
import { makeBaseModel } from '../models/src/pretrain/make-base-model.ts';
import { PRETRAIN_DEFAULTS, type StepInfo } from '../models/src/pretrain/pretrain.ts';
import { vocabulary } from '../models/src/world/captions.ts';
import { EXAMPLE_NAME, writeExample } from '../models/src/world/example.ts';

const { values } = parseArgs({
  options: {
    steps: { type: 'string', default: '10000' },
    minutes: { type: 'string' },
    size: { type: 'string', default: 'default' },
    seed: { type: 'string', default: String(PRETRAIN_DEFAULTS.seed) },
    threads: { type: 'string', default: String(PRETRAIN_DEFAULTS.threads) },
    out: { type: 'string' },
    checkpoint: { type: 'string' },
    'example-only': { type: 'boolean', default: false },
    'classifier-only': { type: 'boolean', default: false },
  },
});

const size = values.size === 'tiny' ? 'tiny' : 'default';
const name = baseModelConfig(vocabulary().length, size).name;
const exampleDir = `examples/${EXAMPLE_NAME}`;
await writeExample(exampleDir, name);
process.stderr.write(`wrote the example concept to ${exampleDir}\n`);
if (values['example-only']) process.exit(0);
const classifierDir = `models/${CLASSIFIER_NAME}`;
if (values['classifier-only']) {
  const acc = await makeClassifier(classifierDir);
  process.stderr.write(`wrote ${classifierDir}: accuracy on fresh renders ${(100 * acc.both).toFixed(1)}%\n`);
  process.exit(0);
}
const steps = Number(values.steps);
const seed = Number(values.seed);
const threads = Number(values.threads);
if (
  !Number.isInteger(steps) ||
  steps < 1 ||
  !Number.isInteger(seed) ||
  !Number.isInteger(threads) ||
  threads < 1
) {
  process.stderr.write('--steps, --seed and --threads must be integers (steps, threads ≥ 1)\n');
  process.exit(2);
}
const deadline = values.minutes ? Date.now() + Number(values.minutes) * 60_000 : Number.POSITIVE_INFINITY;
let interrupted = false;
process.on('SIGINT', () => {
  interrupted = true;
});
process.on('SIGTERM', () => {
  interrupted = true;
});

let smoothed = Number.NaN;
let msPerStep = Number.NaN;
function progress(info: StepInfo): void {
  smoothed = Number.isNaN(smoothed) ? info.loss : 0.98 * smoothed + 0.02 * info.loss;
  msPerStep = Number.isNaN(msPerStep) ? info.stepMs : 0.95 * msPerStep + 0.05 * info.stepMs;
  const width = 30;
  const done = Math.round((width * info.step) / info.steps);
  const eta = ((info.steps - info.step) * msPerStep) / 60_000;
  process.stderr.write(
    `\r[${'#'.repeat(done)}${'.'.repeat(width - done)}] ${info.step}/${info.steps} loss ${smoothed.toFixed(4)} ` +
      `${(msPerStep / 1000).toFixed(2)} s/step eta ${eta.toFixed(0)} min `,
  );
}

const argv = process.argv.slice(2).join(' ');
const result = await makeBaseModel({
  ...PRETRAIN_DEFAULTS,
  size,
  seed,
  steps,
  threads,
  outDir: values.out ?? `models/${name}`,
  checkpointPath: values.checkpoint ?? `.plateau/pretrain/${name}.ckpt`,
  workDir: `.plateau/pretrain/${name}-work`,
  command: `npm run make-base-model${argv ? ` -- ${argv}` : ''}`,
  sampleSteps: 50,
  // Chosen per model on the seen pairs (the card lists every scale's figures).
  guidances: [2, 3, 5, 7.5],
  sampleSeed: 7,
  classifierPath: `${classifierDir}/model.onnx`,
  onStep: progress,
  shouldStop: () => interrupted || Date.now() > deadline,
  log: (line) => process.stderr.write(`\n${line}`),
});
process.stderr.write(`\ndone: ${result.step} steps\n`);
