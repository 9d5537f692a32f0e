// `plateau start` (what `npm start` runs): personalizes the bundled example concept (examples/checkered-gem) on
// the embedded default base model through the embedded pipeline, then draws validation samples with the learned
// token and scores them against the concept images with the project's attribute classifier.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { type Command, parseOptions, stringOption } from '../command.ts';
import { projectRoot } from '../project-files.ts';
import { parseRunOptions } from './run.ts';

export const EXAMPLE_DIR = 'examples/checkered-gem';
export const CLASSIFIER_PATH = 'models/plateau-world-classifier/model.onnx';

interface ExampleJob {
  readonly token: string;
  readonly initializerToken: string;
  readonly baseModel: string;
  /** Textual-inversion learning rate for this model (before scaling by the batch size). */
  readonly learningRate?: number;
  /** Min-SNR-γ loss weights for this model. */
  readonly snrGamma?: number;
}

function readExample(root: string): ExampleJob {
  // The example's job.json is a real manifest: the model's learning rate and min-SNR γ sit under `training`.
  const raw = JSON.parse(
    readFileSync(resolve(root, EXAMPLE_DIR, 'job.json'), 'utf8'),
  ) as Partial<ExampleJob> & {
    training?: { learningRate?: number; snrGamma?: number };
  };
  const job: Partial<ExampleJob> = {
    ...raw,
    ...(raw.training?.learningRate === undefined ? {} : { learningRate: raw.training.learningRate }),
    ...(raw.training?.snrGamma === undefined ? {} : { snrGamma: raw.training.snrGamma }),
  };
  if (!job.token || !job.initializerToken || !job.baseModel) {
    throw new Error(`${EXAMPLE_DIR}/job.json needs token, initializerToken and baseModel`);
  }
  for (const key of ['learningRate', 'snrGamma'] as const) {
    if (job[key] !== undefined && typeof job[key] !== 'number') {
      throw new Error(`${EXAMPLE_DIR}/job.json: ${key} must be a number`);
    }
  }
  return {
    token: job.token,
    initializerToken: job.initializerToken,
    baseModel: job.baseModel,
    ...(job.learningRate === undefined ? {} : { learningRate: job.learningRate }),
    ...(job.snrGamma === undefined ? {} : { snrGamma: job.snrGamma }),
  };
}

export const startCommand: Command = {
  name: 'start',
  summary: 'Personalize the bundled example concept on the embedded default model, end to end',
  usage: 'plateau start [--out <dir>] [--gpu-hour-price usd] [--json] [--verbose] [--console]',
  async run(args, io) {
    const values = parseOptions(args, {
      out: { type: 'string' },
      json: { type: 'boolean' },
      verbose: { type: 'boolean' },
      console: { type: 'boolean' },
      'gpu-hour-price': { type: 'string' },
    });
    const out = stringOption(values, 'out');
    const price = stringOption(values, 'gpu-hour-price');
    const root = projectRoot(io);
    const example = readExample(root);
    const options = parseRunOptions(
      [
        '--images',
        resolve(root, EXAMPLE_DIR, 'images'),
        '--token',
        example.token,
        '--init',
        example.initializerToken,
        '--model',
        resolve(root, 'models', example.baseModel),
        ...(example.learningRate === undefined ? [] : ['--lr', String(example.learningRate)]),
        ...(example.snrGamma === undefined ? [] : ['--snr-gamma', String(example.snrGamma)]),
        '--job-id',
        `checkered-gem-${Date.now().toString(36)}`,
        ...(out ? ['--out', out] : []),
        ...(values.json ? ['--json'] : []),
        ...(values.verbose ? ['--verbose'] : []),
        ...(values.console ? ['--console'] : []),
        ...(price ? ['--gpu-hour-price', price] : []),
      ],
      { root },
    );
    io.err.write(
      `plateau start: learning ${example.token} (from '${example.initializerToken}') on models/${example.baseModel} ` +
        `with the embedded pipeline; DVAR decides when to stop.\n`,
    );
    const { runLocalJob } = await import('./run-service.ts');
    const status = await runLocalJob(options, io);
    if (status !== 0) return status;
    const { validateExample } = await import('./start-validation.ts');
    const result = await validateExample({
      root,
      outDir: options.outDir,
      modelDir: options.modelDir,
      token: example.token,
      initializerToken: example.initializerToken,
      conceptImagesDir: resolve(root, EXAMPLE_DIR, 'images'),
      classifierPath: resolve(root, CLASSIFIER_PATH),
    });
    if (options.json) io.out.write(`${JSON.stringify({ validation: result })}\n`);
    io.out.write(
      `Validation samples: ${result.samplesDir}\n` +
        `Concept similarity (attribute-classifier features, mean cosine to the example images): ` +
        `learned token ${result.learnedSimilarity.toFixed(3)} vs initializer '${example.initializerToken}' ` +
        `${result.initializerSimilarity.toFixed(3)}\n` +
        `Outputs are in ${options.outDir}\n`,
    );
    return 0;
  },
};
