// `plateau train` with a stand-in model: required options and bad values are usage errors, progress lines go
// to stderr and a JSON summary to stdout, DVAR stops the run in-process, and a STOP file stops it at a flush.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { UsageError } from '../../../../cli/command.ts';
import { createTrainCommand, manifestFromFlags, progressBar } from '../../../../cli/commands/train.ts';
import { findCriterionIndex } from '../../../../shared/dvar.ts';
import { readJsonlSamples } from '../../../../shared/files/jsonl-sample-sink.ts';
import { METHOD_DEFAULTS } from '../../../../shared/methods.ts';
import type { RenderSamples } from '../../../../trainer-image/src/train/sampler.ts';
import { fixtureDir } from '../../../support/fixtures.ts';
import { standInModel } from '../../train/support/stand-in-model.ts';

const PIPELINE = fixtureDir('tiny-sd');
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

// The real sampler runs in test/onnx/train/sampler.test.ts; here a stand-in records what the command asks for.
const sampleCalls: { prompts: readonly string[]; rows: number; steps?: number; guidance?: number }[] = [];
const standInSamples: RenderSamples = async (_dir, learned, prompts, settings) => {
  sampleCalls.push({
    prompts,
    rows: learned.rows.length,
    ...(settings.steps === undefined ? {} : { steps: settings.steps }),
    ...(settings.guidance === undefined ? {} : { guidance: settings.guidance }),
  });
  return [
    ...prompts.map((_, i) => ({ name: `${i}.png`, body: new Uint8Array([i]), contentType: 'image/png' })),
    { name: 'contact-sheet.png', body: new Uint8Array([9]), contentType: 'image/png' },
  ];
};

async function run(args: string[]) {
  let stdout = '';
  let stderr = '';
  const code = await createTrainCommand(standInModel(), standInSamples).run(args, {
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
  // One deterministic loss per step whatever the method's default evalEvery: the tests read every one.
  '--eval-every',
  '1',
];

describe('plateau train', () => {
  it('requires the model, images and token, and checks every value through the job schema', async () => {
    await expect(run(['--model', PIPELINE])).rejects.toThrow(UsageError);
    await expect(run([...base(join(root, 'x')), '--max-steps', '0'])).rejects.toThrow(
      /--max-steps: Too small/,
    );
    await expect(run([...base(join(root, 'x')), '--threshold', 'abc'])).rejects.toThrow(/--threshold/);
    await expect(run([...base(join(root, 'x')), '--snr-gamma', '0'])).rejects.toThrow(
      /--snr-gamma: Too small/,
    );
    await expect(run([...base(join(root, 'x')), '--frobnicate'])).rejects.toThrow(UsageError);
    await expect(run([...base(join(root, 'x')), '--method', 'dreambooth'])).rejects.toThrow(
      /--method: .*'textual-inversion' \| 'dreambooth-lora' \| 'custom-diffusion' \(got 'dreambooth'\)/,
    );
    await expect(run([...base(join(root, 'x')), '--rank', '8'])).rejects.toThrow(
      /needs? --method dreambooth-lora/,
    );
    await expect(
      run([...base(join(root, 'x')), '--method', 'dreambooth-lora', '--lora-targets', 'all']),
    ).rejects.toThrow(/--lora-targets/);
  });

  it('fills unset flags from the method defaults', () => {
    const lora = manifestFromFlags({ token: '<t>', method: 'dreambooth-lora', rank: '8' });
    expect(lora.method).toBe('dreambooth-lora');
    expect(lora.training).toMatchObject({
      learningRate: METHOD_DEFAULTS['dreambooth-lora'].learningRate,
      maxSteps: METHOD_DEFAULTS['dreambooth-lora'].maxSteps,
    });
    expect(lora.stop).toMatchObject({
      window: METHOD_DEFAULTS['dreambooth-lora'].window,
      threshold: METHOD_DEFAULTS['dreambooth-lora'].threshold,
    });
    if (lora.method !== 'dreambooth-lora') throw new Error('not a LoRA job');
    expect(lora.lora).toEqual({ rank: 8, alpha: 8, targets: 'paper' });
    const cd = manifestFromFlags({
      token: '<t>',
      method: 'custom-diffusion',
      'class-word': 'teapot',
      'no-prior': true,
    });
    if (cd.method !== 'custom-diffusion') throw new Error('not a Custom Diffusion job');
    expect(cd.customDiffusion).toMatchObject({
      classWord: 'teapot',
      priorPreservation: false,
      classImages: 200,
    });
    expect(cd.stop).toMatchObject({
      window: METHOD_DEFAULTS['custom-diffusion'].window,
      threshold: METHOD_DEFAULTS['custom-diffusion'].threshold,
    });
    expect(() => manifestFromFlags({ token: '<t>', 'no-prior': true })).toThrow(
      /needs? --method custom-diffusion/,
    );
    const ti = manifestFromFlags({ token: '<t>', window: '50', 'no-dvar': true });
    expect(ti).toMatchObject({ method: 'textual-inversion', initializerToken: 'object' });
    expect(ti.stop).toMatchObject({
      window: 50,
      threshold: METHOD_DEFAULTS['textual-inversion'].threshold,
      criterion: 'none',
    });
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
    // Four validation prompts with the token, drawn from the learned row, written under output/samples/; then the
    // same prompts with the initializer word (the "before" images, same seed) under output/samples/initializer/.
    const call = sampleCalls.at(-2)!;
    expect(call).toMatchObject({ rows: 32, steps: 25, guidance: 7.5 });
    expect(call.prompts).toHaveLength(4);
    expect(call.prompts.every((p) => p.includes('<my-toy>'))).toBe(true);
    const before = sampleCalls.at(-1)!;
    expect(before).toMatchObject({ steps: 25, guidance: 7.5 });
    expect(before.prompts).toEqual(call.prompts.map((p) => p.replace('<my-toy>', 'toy')));
    expect(readFileSync(join(out, 'output', 'samples', 'contact-sheet.png'))).toEqual(Buffer.from([9]));
    const report = JSON.parse(readFileSync(join(out, 'output', 'report.json'), 'utf8'));
    expect(report.artifacts.validationImages).toEqual([
      'output/samples/0.png',
      'output/samples/1.png',
      'output/samples/2.png',
      'output/samples/3.png',
      'output/samples/contact-sheet.png',
      'output/samples/initializer/0.png',
      'output/samples/initializer/1.png',
      'output/samples/initializer/2.png',
      'output/samples/initializer/3.png',
    ]);
  });

  it('takes --samples, --sample-steps and --guidance; --samples 0 draws none; a sampler failure is reported', async () => {
    const before = sampleCalls.length;
    const few = join(root, 'few');
    await run([
      ...base(few),
      '--max-steps',
      '2',
      '--no-dvar',
      '--samples',
      '2',
      '--sample-steps',
      '5',
      '--guidance',
      '3',
    ]);
    expect(sampleCalls.at(-2)).toMatchObject({ steps: 5, guidance: 3 });
    expect(sampleCalls.at(-2)!.prompts).toHaveLength(2);
    await run([...base(join(root, 'none')), '--max-steps', '2', '--no-dvar', '--samples', '0']);
    // One run drew its samples and their "before" twins; --samples 0 drew nothing.
    expect(sampleCalls.length).toBe(before + 2);
    expect(existsSync(join(root, 'none', 'output', 'samples'))).toBe(false);

    const failing = createTrainCommand(standInModel(), async () => {
      throw new Error('no vae_decoder');
    });
    let stderr = '';
    const io = { version: 't', out: { write: () => true }, err: { write: (s: string) => (stderr += s) } };
    const out = join(root, 'failing');
    expect(await failing.run([...base(out), '--max-steps', '2', '--no-dvar'], io)).toBe(0);
    expect(stderr).toContain('validation samples failed: no vae_decoder');
    const report = JSON.parse(readFileSync(join(out, 'output', 'report.json'), 'utf8'));
    expect(report.artifacts).toMatchObject({ validationImages: [], validationImagesError: 'no vae_decoder' });
  });

  it('draws a live progress bar in place on a terminal', async () => {
    expect(progressBar(0, 10, 10)).toBe('[░░░░░░░░░░]   0%');
    expect(progressBar(5, 10, 10)).toBe('[█████░░░░░]  50%');
    expect(progressBar(12, 10, 10)).toBe('[██████████] 100%');
    let stderr = '';
    const io = {
      version: 't',
      out: { write: () => true },
      err: { isTTY: true, write: (s: string) => (stderr += s) },
    };
    const command = createTrainCommand(standInModel(), standInSamples);
    expect(await command.run([...base(join(root, 'tty')), '--max-steps', '30', '--window', '10'], io)).toBe(
      0,
    );
    const frames = stderr.split('\r').slice(1);
    expect(frames.length).toBeGreaterThan(0);
    // The last frame is the finished bar with the step, det loss, ratio and rate, cleared to the line end.
    const last = frames.at(-1)!;
    expect(last).toMatch(
      /^\[█+░*\] +\d+% step \d+\/30 {2}det [\d.]+ {2}train [\d.]+ {2}ratio [\d.]+ {2}[\d.]+ steps\/s/,
    );
    expect(last).toContain('\u001b[K');
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
    // The saving against the 400-step cap, and its estimated cost, as in the pipeline's report.
    expect(report.savings).toMatchObject({ stepsTrained: summary.steps, budgetSteps: 400 });
    expect(report.savings.savedFraction).toBeGreaterThan(0);
    expect(report.cost.estimatedUsd).toBeLessThan(report.cost.fullBudgetUsd);
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
    }, standInSamples);
    let stdout = '';
    const io = { version: 't', out: { write: (s: string) => (stdout += s) }, err: { write: () => true } };
    expect(await command.run([...base(out), '--max-steps', '100', '--no-dvar'], io)).toBe(0);
    expect(JSON.parse(stdout)).toMatchObject({ steps: 10, stopReason: 'cancelled' });
    const resumed = await run([...base(out), '--max-steps', '30', '--no-dvar', '--resume']);
    expect(JSON.parse(resumed.stdout)).toMatchObject({ steps: 30, stopReason: 'max-steps', resumedFrom: 10 });
  });
});
