// `plateau train` with a stand-in model: required options and bad values are usage errors, progress lines go
// to stderr and a JSON summary to stdout, DVAR stops the run in-process, and a STOP file stops it at a flush.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { UsageError } from '../../../cli/command.ts';
import { createTrainCommand } from '../../../cli/commands/train.ts';
import { findCriterionIndex } from '../../../shared/dvar.ts';
import { readJsonlSamples } from '../../../shared/local/jsonl-sample-sink.ts';
import { standInModel } from './support/stand-in-model.ts';

const PIPELINE = join(process.cwd(), '../shared/fixtures/tiny-sd');
const root = mkdtempSync(join(tmpdir(), 'plateau-cli-train-'));
const imagesDir = join(root, 'images');

beforeAll(async () => {
  mkdirSync(imagesDir);
  for (let k = 0; k < 2; k++) {
    await sharp({ create: { width: 40, height: 40, channels: 3, background: { r: 200 * k, g: 60, b: 90 } } })
      .png()
      .toFile(join(imagesDir, `img${k}.png`));
  }
});

async function run(args: string[]) {
  let stdout = '';
  let stderr = '';
  const code = await createTrainCommand(standInModel()).run(args, {
    version: 'test',
    out: { write: (s: string) => (stdout += s) },
    err: { write: (s: string) => (stderr += s) },
  });
  return { code, stdout, stderr };
}

const base = (out: string) => [
  '--model',
  PIPELINE,
  '--images',
  imagesDir,
  '--token',
  '<my-toy>',
  '--init',
  'toy',
  '--out',
  out,
];

describe('plateau train', () => {
  it('requires the model, images, token and initializer, and checks numbers', async () => {
    await expect(run(['--model', PIPELINE])).rejects.toThrow(UsageError);
    await expect(run([...base(join(root, 'x')), '--max-steps', '0'])).rejects.toThrow(
      /--max-steps must be an integer >= 1/,
    );
    await expect(run([...base(join(root, 'x')), '--threshold', 'abc'])).rejects.toThrow(/--threshold/);
    await expect(run([...base(join(root, 'x')), '--frobnicate'])).rejects.toThrow(UsageError);
  });

  it('trains to the cap with progress on stderr and a summary on stdout', async () => {
    const out = join(root, 'cap');
    const { code, stdout, stderr } = await run([
      ...base(out),
      '--max-steps',
      '20',
      '--progress-every',
      '10',
      '--no-dvar',
    ]);
    expect(code).toBe(0);
    expect(stderr).toMatch(/step 10\/20 {2}det [\d.]+ {2}train [\d.]+/);
    expect(stderr).toContain('step 20/20');
    const summary = JSON.parse(stdout);
    expect(summary).toMatchObject({ steps: 20, stopReason: 'max-steps', criterionStep: null });
    expect(existsSync(summary.embedding)).toBe(true);
    expect(await readJsonlSamples(join(out, 'samples.jsonl'))).toHaveLength(20);
  });

  it('writes JSON lines on stdout with --json', async () => {
    const { code, stdout, stderr } = await run([
      ...base(join(root, 'json')),
      '--max-steps',
      '6',
      '--progress-every',
      '3',
      '--no-dvar',
      '--json',
    ]);
    expect(code).toBe(0);
    expect(stderr).toBe('');
    const events = stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line));
    expect(events.map((e) => e.event)).toEqual(['start', 'progress', 'progress', 'done']);
    expect(events[1]).toMatchObject({ step: 2, ratio: null });
    expect(typeof events[1].detLoss).toBe('number');
    expect(events[3]).toMatchObject({ steps: 6, stopReason: 'max-steps' });
  });

  it('stops by DVAR in-process; report.json agrees with a replay of samples.jsonl', async () => {
    const out = join(root, 'dvar');
    const { stdout } = await run([
      ...base(out),
      '--max-steps',
      '400',
      '--window',
      '20',
      '--threshold',
      '0.15',
    ]);
    const summary = JSON.parse(stdout);
    expect(summary.stopReason).toBe('criterion');
    expect(summary.steps).toBe(summary.criterionStep + 1);
    expect(summary.finalRatio).toBeLessThan(0.15);
    const report = JSON.parse(readFileSync(join(out, 'output', 'report.json'), 'utf8'));
    expect(report).toMatchObject({
      steps: summary.steps,
      criterionStep: summary.criterionStep,
      stopLatencySteps: 0,
    });
    expect(report.dvar).toMatchObject({ window: 20, threshold: 0.15, finalRatio: summary.finalRatio });
    const samples = await readJsonlSamples(join(out, 'samples.jsonl'));
    const det = samples.filter((s) => s.detLoss !== undefined);
    const index = findCriterionIndex(
      det.map((s) => s.detLoss!),
      { window: 20, threshold: 0.15 },
    );
    expect(det[index!]!.step).toBe(report.criterionStep);
    expect(readFileSync(join(out, 'output', 'loss.svg'), 'utf8')).toMatch(/^<svg/);
  });

  it('stops at the next flush when <out>/STOP appears, and a resumed run ignores the old STOP file', async () => {
    const out = join(root, 'stop');
    mkdirSync(out, { recursive: true });
    // The command clears a stale STOP at start, so the stand-in model writes it during step 2.
    const command = createTrainCommand(async (request) => {
      const model = await standInModel()(request);
      let calls = 0;
      return {
        ...model,
        objective: {
          loss: model.objective.loss,
          lossAndGradient: async (rows, batch) => {
            if (++calls === 3) writeFileSync(join(out, 'STOP'), 'cancelled\n');
            return model.objective.lossAndGradient(rows, batch);
          },
        },
      };
    });
    let stdout = '';
    const io = { version: 't', out: { write: (s: string) => (stdout += s) }, err: { write: () => true } };
    expect(await command.run([...base(out), '--max-steps', '100', '--no-dvar'], io)).toBe(0);
    expect(JSON.parse(stdout)).toMatchObject({ steps: 10, stopReason: 'cancelled' });
    const resumed = await run([...base(out), '--max-steps', '30', '--no-dvar', '--resume']);
    expect(JSON.parse(resumed.stdout)).toMatchObject({ steps: 30, stopReason: 'max-steps', resumedFrom: 10 });
  });
});
