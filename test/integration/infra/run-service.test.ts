// `plateau run` on the embedded pipeline with the stand-in trainer: uploads like a user, reports progress
// (status, step, DVAR ratio, criterion step), serves the web console while it runs (--console) and downloads the
// outputs to <out>/<jobId>/.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { parseRunOptions } from '../../../cli/commands/run.ts';
import { runLocalJob } from '../../../cli/commands/run-service.ts';

const root = mkdtempSync(join(tmpdir(), 'plateau-run-test-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('plateau run', () => {
  it('runs a job to SUCCEEDED, shows progress and writes the outputs', async () => {
    const images = join(root, 'images');
    const model = join(root, 'tiny');
    mkdirSync(images);
    mkdirSync(model);
    writeFileSync(join(model, 'model_index.json'), '{}');
    const png = await sharp({ create: { width: 8, height: 8, channels: 3, background: '#c84' } })
      .png()
      .toBuffer();
    writeFileSync(join(images, 'a.png'), png);
    const options = parseRunOptions([
      ...['--images', images, '--token', '<toy>', '--init', 'toy', '--model', model],
      ...[
        '--job-id',
        'cli-run',
        '--out',
        join(root, 'out'),
        '--window',
        '20',
        '--max-steps',
        '400',
        '--json',
        '--console',
      ],
    ]);
    let out = '';
    let err = '';
    const io = {
      version: '0',
      out: { write: (s: string) => (out += s) },
      err: { write: (s: string) => (err += s) },
    };
    const code = await runLocalJob(options, io, {
      trainerCommand: [process.execPath, 'test/integration/infra/support/fake-trainer.ts'],
      pollMs: 50,
      waitOverridesMs: { initial: 300, loop: 150 },
    });
    expect(code).toBe(0);
    const summary = JSON.parse(out.trim());
    expect(summary).toMatchObject({ jobId: 'cli-run', status: 'SUCCEEDED', stopReason: 'criterion' });
    const outDir = join(root, 'out', 'cli-run');
    expect(summary.outDir).toBe(outDir);
    for (const name of ['<toy>.safetensors', 'report.json', 'loss.svg'])
      expect(existsSync(join(outDir, name))).toBe(true);
    const report = JSON.parse(readFileSync(join(outDir, 'report.json'), 'utf8'));
    expect(report.criterionStep).toBe(summary.criterionStep);
    // The saving against the 400-step budget, priced by default at the cloud stack's instance price.
    expect(report.savings).toMatchObject({ budgetSteps: 400, stepsTrained: report.steps });
    expect(report.savings.savedFraction).toBeGreaterThan(0.5);
    expect(report.cost.gpuHourPriceUsd).toBe(1.006);
    expect(report.cost.estimatedUsd).toBeGreaterThan(0);
    expect(summary.savings).toEqual(report.savings);
    expect(err).toMatch(/RUNNING {2}step \d+ {2}det loss [\d.]+ {2}DVAR ratio [\d.]+/);
    expect(err).toContain(`criterion held at step ${summary.criterionStep}`);
    // --console served the web console for the run's length, and closed it with the run.
    const url = /web console: (http:\/\/127\.0\.0\.1:\d+\/\?token=[\w-]+)#\/jobs\/cli-run/.exec(err)?.[1];
    expect(url).toBeDefined();
    await expect(fetch(url ?? '')).rejects.toThrow();
  });

  it('prints the saving in one line, at the price the user set', async () => {
    let out = '';
    const io = { version: '0', out: { write: (s: string) => (out += s) }, err: { write: () => true } };
    const options = parseRunOptions([
      ...['--images', join(root, 'images'), '--token', '<toy>', '--model', join(root, 'tiny')],
      ...['--job-id', 'cli-priced', '--out', join(root, 'out'), '--window', '20', '--max-steps', '400'],
      ...['--gpu-hour-price', '3.6'],
    ]);
    expect(options.gpuHourPriceUsd).toBe(3.6);
    const code = await runLocalJob(options, io, {
      trainerCommand: [process.execPath, 'test/integration/infra/support/fake-trainer.ts'],
      pollMs: 50,
      waitOverridesMs: { initial: 300, loop: 150 },
    });
    expect(code).toBe(0);
    expect(out).toMatch(
      /^SUCCEEDED: job cli-priced\n {2}trained \d+ of 400 steps: \d+% of training time saved \([\d.]+ GPU-s instead of ~\d+; est\. \$[\d.]+ vs \$[\d.]+ at \$3\.6\/GPU-h\)\n/,
    );
  });

  it('uses the embedded model of the package it belongs to when --model is absent', () => {
    const options = parseRunOptions(['--images', 'i', '--token', '<t>'], { root: '/opt/plateau' });
    expect(options.modelDir).toBe('/opt/plateau/models/plateau-world-32');
    expect(options.projectRoot).toBe('/opt/plateau');
    // Outputs stay under the working directory.
    expect(options.outDir).toBe(join(process.cwd(), 'out', options.jobId));
    expect(() => parseRunOptions(['--images', 'i', '--token', '<t>', '--gpu-hour-price', '-1'])).toThrow(
      /--gpu-hour-price/,
    );
  });

  it('says what is missing', () => {
    expect(() => parseRunOptions(['--token', '<t>', '--model', 'm'])).toThrow(/--images/);
    expect(() =>
      parseRunOptions(['--images', 'i', '--token', '<t>', '--model', 'm', '--threshold', '2']),
    ).toThrow(/threshold/);
    expect(() => parseRunOptions(['--images', 'i', '--token', '<t>', '--model', 'm', '--lr', '0'])).toThrow(
      /--lr: Too small: expected number to be >0 \(got '0'\)/,
    );
  });

  it('puts --lr and --max-steps into the job manifest', () => {
    const options = parseRunOptions(['--images', 'i', '--token', '<t>', '--model', 'm', '--lr', '0.02']);
    expect(options.manifest).toMatchObject({ training: { learningRate: 0.02 } });
    const both = parseRunOptions([
      '--images',
      'i',
      '--token',
      '<t>',
      '--model',
      'm',
      '--lr',
      '1e-3',
      '--max-steps',
      '9',
    ]);
    expect(both.manifest).toMatchObject({ training: { learningRate: 0.001, maxSteps: 9 } });
    const gamma = parseRunOptions(['--images', 'i', '--token', '<t>', '--model', 'm', '--snr-gamma', '5']);
    expect(gamma.manifest).toMatchObject({ training: { snrGamma: 5 } });
    expect(() =>
      parseRunOptions(['--images', 'i', '--token', '<t>', '--model', 'm', '--snr-gamma', '0']),
    ).toThrow(/--snr-gamma: Too small: expected number to be >0/);
    expect(parseRunOptions(['--images', 'i', '--token', '<t>', '--model', 'm']).manifest).not.toHaveProperty(
      'training',
    );
  });
});
