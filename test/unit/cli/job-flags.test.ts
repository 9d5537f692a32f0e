// One verdict per flag value: `plateau train`, `run` and `submit` (and `dvar` for the DVAR flags) refuse the same
// bad values with the same message, and that message is the one the pipeline gives for the same job.json.
import type { CliIo } from '../../../cli/command.ts';
import { parseRunOptions } from '../../../cli/commands/run.ts';
import { parseSubmitOptions } from '../../../cli/commands/submit.ts';
import { parseTrainOptions } from '../../../cli/commands/train.ts';
import { main } from '../../../cli/main.ts';
import { DEFAULT_MODEL } from '../../../cli/project-files.ts';
import { JobManifest, parseManifest } from '../../../shared/manifest.ts';

const JOB_COMMANDS = ['train', 'run', 'submit'] as const;
const REQUIRED = ['--images', 'imgs', '--token', '<t>'];

/** Runs `plateau <command> ...args` and returns its exit code and the error line (without the usage). */
async function cli(command: string, args: readonly string[]): Promise<{ code: number; message: string }> {
  let err = '';
  const io: CliIo = { version: '0', out: { write: () => true }, err: { write: (s: string) => (err += s) } };
  const code = await main([command, ...args], io);
  const message = err.split('\n')[0]?.replace(`plateau ${command}: `, '') ?? '';
  return { code, message };
}

/** What parseManifest says of a job.json: the problem after the field's path. */
function manifestProblem(json: Record<string, unknown>): { path: string; message: string } {
  try {
    parseManifest(new TextEncoder().encode(JSON.stringify(json)));
  } catch (error) {
    const text = (error as Error).message.replace(/^invalid job\.json: /, '');
    const colon = text.indexOf(': ');
    return { path: text.slice(0, colon), message: text.slice(colon + 2) };
  }
  throw new Error(`job.json ${JSON.stringify(json)} was accepted`);
}

// Flags with a bad value, the flag named in the message, and the same value as job.json has it.
// A value starting with a dash goes as --flag=-1 (parseArgs reads `--flag -1` as a flag without its value).
const BAD: ReadonlyArray<[string[], string, string, Record<string, unknown>]> = [
  [['--threshold', '2'], 'threshold', '2', { stop: { threshold: 2 } }],
  [['--threshold', '0'], 'threshold', '0', { stop: { threshold: 0 } }],
  [['--window', '0'], 'window', '0', { stop: { window: 0 } }],
  [['--window', '2.5'], 'window', '2.5', { stop: { window: 2.5 } }],
  [['--eval-every', '0'], 'eval-every', '0', { stop: { evalEvery: 0 } }],
  [['--lr=-1'], 'lr', '-1', { training: { learningRate: -1 } }],
  [['--lr', '2'], 'lr', '2', { training: { learningRate: 2 } }],
  [['--max-steps', '0'], 'max-steps', '0', { training: { maxSteps: 0 } }],
  [['--batch-size', '65'], 'batch-size', '65', { training: { batchSize: 65 } }],
  [['--resolution', '100'], 'resolution', '100', { training: { resolution: 100 } }],
  [['--seed=-1'], 'seed', '-1', { training: { seed: -1 } }],
  [['--snr-gamma', '0'], 'snr-gamma', '0', { training: { snrGamma: 0 } }],
  [['--token-lr', '2'], 'token-lr', '2', { training: { tokenLearningRate: 2 } }],
  [['--templates', 'scene'], 'templates', 'scene', { templates: 'scene' }],
  [['--init', 'two words'], 'init', 'two words', { initializerToken: 'two words' }],
  [['--method', 'lora'], 'method', 'lora', { method: 'lora' }],
  [
    ['--method', 'dreambooth-lora', '--rank', '0'],
    'rank',
    '0',
    { method: 'dreambooth-lora', lora: { rank: 0 } },
  ],
  [
    ['--method', 'dreambooth-lora', '--lora-targets', 'ff'],
    'lora-targets',
    'ff',
    { method: 'dreambooth-lora', lora: { targets: 'ff' } },
  ],
  [
    ['--method', 'custom-diffusion', '--class-images=-1'],
    'class-images',
    '-1',
    { method: 'custom-diffusion', customDiffusion: { classImages: -1 } },
  ],
  [
    ['--method', 'custom-diffusion', '--class-word', 'cat/dog'],
    'class-word',
    'cat/dog',
    { method: 'custom-diffusion', customDiffusion: { classWord: 'cat/dog' } },
  ],
];

describe('job flags: one verdict in every command and in job.json', () => {
  describe.each(BAD)('%j', (flags, flag, value, json) => {
    const { path, message } = manifestProblem({ token: '<t>', ...json });

    it.each(JOB_COMMANDS)('plateau %s refuses it with the manifest schema’s message', async (command) => {
      const result = await cli(command, [...REQUIRED, ...flags]);
      expect(result.code).toBe(2);
      expect(result.message).toBe(`--${flag}: ${message} (got '${value}')`);
      expect(path).toBe(
        {
          threshold: 'stop.threshold',
          window: 'stop.window',
          'eval-every': 'stop.evalEvery',
          lr: 'training.learningRate',
          'max-steps': 'training.maxSteps',
          'batch-size': 'training.batchSize',
          resolution: 'training.resolution',
          seed: 'training.seed',
          'snr-gamma': 'training.snrGamma',
          'token-lr': 'training.tokenLearningRate',
          templates: 'templates',
          init: 'initializerToken',
          method: 'method',
          rank: 'lora.rank',
          'lora-targets': 'lora.targets',
          'class-images': 'customDiffusion.classImages',
          'class-word': 'customDiffusion.classWord',
        }[flag],
      );
    });
  });

  it.each([
    [['--threshold', '2'], "--threshold: Too big: expected number to be <=1 (got '2')"],
    [['--window', '1'], "--window: Too small: expected number to be >=2 (got '1')"],
    [
      ['--method', 'custom-diffusion', '--window', '0'],
      "--window: Too small: expected number to be >=2 (got '0')",
    ],
  ])('plateau dvar gives the same verdict for %j', async (flags, message) => {
    expect(await cli('dvar', ['--history', 'h.csv', ...flags])).toEqual({ code: 2, message });
  });

  // Refused before the schema, with one message for every command.
  it.each([
    [['--window', 'abc'], "--window must be a number (got 'abc')"],
    [['--lr', '-1'], '--lr needs a value (one that starts with a dash is written --lr=-1)'],
    [['--lr', ''], "--lr must be a number (got '')"],
    [['--rank', '4'], '--rank needs --method dreambooth-lora'],
    [['--no-prior'], '--no-prior needs --method custom-diffusion'],
    [
      ['--no-rescale', '--prior-weight', '2'],
      '--prior-weight and --no-rescale need --method custom-diffusion',
    ],
    [['--method', 'custom-diffusion', '--lora-alpha', '2'], '--lora-alpha needs --method dreambooth-lora'],
    [
      ['--class-dir', 'class'],
      '--class-dir needs --method custom-diffusion (class images are its prior preservation; this job is textual-inversion)',
    ],
    [
      ['--method', 'custom-diffusion', '--no-prior', '--class-dir', 'class'],
      '--class-dir and --no-prior contradict: class images are for prior preservation',
    ],
    [
      ['--method', 'custom-diffusion', '--class-images', '0', '--class-dir', 'class'],
      '--class-dir with --class-images 0: a job that uses no class images',
    ],
    [['--threshold', '2', '--window', '1'], expect.stringMatching(/^--window: .*; --threshold: /)],
  ])('%j: the same usage error in train, run and submit', async (flags, message) => {
    for (const command of JOB_COMMANDS) {
      expect(await cli(command, [...REQUIRED, ...flags])).toEqual({ code: 2, message });
    }
  });

  // Accepted by every command exactly when the pipeline accepts the same job.json, refused with its reason: the CLI
  // runs parseManifest's own rules too (those outside the schema, such as a DVAR window that cannot hold in time).
  it.each([
    [['--window', '20', '--max-steps', '100'], { stop: { window: 20 }, training: { maxSteps: 100 } }],
    [['--window', '400', '--max-steps', '100'], { stop: { window: 400 }, training: { maxSteps: 100 } }],
    [
      ['--window', '20', '--eval-every', '8', '--max-steps', '100'],
      { stop: { window: 20, evalEvery: 8 }, training: { maxSteps: 100 } },
    ],
    [
      ['--no-dvar', '--window', '400', '--max-steps', '100'],
      { stop: { criterion: 'none', window: 400 }, training: { maxSteps: 100 } },
    ],
    [
      ['--method', 'custom-diffusion', '--max-steps', '100'],
      { method: 'custom-diffusion', training: { maxSteps: 100 } },
    ],
  ])('%j: the verdict of parseManifest for the same job.json', (flags, json) => {
    let expected: string | undefined;
    try {
      parseManifest(new TextEncoder().encode(JSON.stringify({ token: '<t>', ...json })));
    } catch (error) {
      const reason = (error as Error).message.replace(/^invalid job\.json: /, '');
      expected = reason.slice(reason.indexOf(': ') + 2);
    }
    const parsers = [
      () => parseTrainOptions([...REQUIRED, ...flags], '/pkg'),
      () => parseRunOptions([...REQUIRED, ...flags]),
      () => parseSubmitOptions([...REQUIRED, ...flags]),
    ];
    for (const parse of parsers) {
      if (expected === undefined) expect(parse).not.toThrow();
      else expect(parse).toThrow(expected);
    }
  });

  it('points a folder given to --class-images to --class-dir', async () => {
    const flags = [...REQUIRED, '--method', 'custom-diffusion', '--class-images', './cats'];
    for (const command of JOB_COMMANDS) {
      expect(await cli(command, flags)).toEqual({
        code: 2,
        message:
          "--class-images must be a number (got './cats'); a folder of class images goes in --class-dir",
      });
    }
  });

  it('the same flags make the same job in every command', () => {
    const flags = [
      ...REQUIRED,
      ...['--method', 'custom-diffusion', '--class-word', 'teapot', '--class-images', '3'],
      ...['--window', '40', '--threshold', '0.2', '--eval-every', '2', '--lr', '2e-5', '--seed', '7'],
      ...['--batch-size', '1', '--templates', 'style', '--init', 'pot', '--no-dvar'],
      ...['--class-dir', 'class'],
    ];
    const train = parseTrainOptions(flags, '/pkg');
    const run = parseRunOptions(flags, { root: '/pkg' });
    const submit = parseSubmitOptions(flags);
    expect(JobManifest.parse(run.manifest)).toEqual(train.manifest);
    expect(JobManifest.parse(submit.manifest)).toEqual({ ...train.manifest, baseModel: DEFAULT_MODEL });
    // Another model: the method's own defaults where the flags leave a field unset, in every command.
    const other = ['--model', 'tiny'];
    const trainOther = parseTrainOptions([...flags, ...other], '/pkg');
    expect(JobManifest.parse(parseRunOptions([...flags, ...other], { root: '/pkg' }).manifest)).toEqual(
      trainOther.manifest,
    );
    expect(JobManifest.parse(parseSubmitOptions([...flags, ...other]).manifest)).toEqual({
      ...trainOther.manifest,
      baseModel: 'tiny',
    });
    expect(train.manifest).toMatchObject({
      method: 'custom-diffusion',
      initializerToken: 'pot',
      templates: 'style',
      training: { learningRate: 2e-5, seed: 7, batchSize: 1 },
      stop: { criterion: 'none', window: 40, threshold: 0.2, evalEvery: 2 },
      customDiffusion: { classWord: 'teapot', classImages: 3, priorPreservation: true },
    });
    // job.json carries only what the flags set; the pipeline fills the rest with the method's defaults.
    expect(run.manifest).not.toHaveProperty('training.maxSteps');
    for (const options of [train, run, submit]) expect(options.classDir).toMatch(/[\\/]class$/);
  });
});
