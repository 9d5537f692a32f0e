// The job options of `plateau run` / `plateau submit`: the method and its LoRA settings reach job.json, and the
// pipeline's manifest schema reads the result with the method's own defaults; bad values are usage errors.
import { parseOptions, UsageError } from '../../../cli/command.ts';
import { JOB_OPTIONS, jobFromOptions, withEmbeddedModelTraining } from '../../../cli/job-options.ts';
import { WORLD_MODEL_TRAINING } from '../../../models/src/world/training-rates.ts';
import { JobManifest } from '../../../shared/manifest.ts';
import { METHOD_DEFAULTS, METHODS } from '../../../shared/methods.ts';

const job = (...args: string[]) =>
  jobFromOptions(parseOptions(['--images', 'imgs', '--token', '<t>', ...args], JOB_OPTIONS));

describe('job options', () => {
  it('writes a textual-inversion job without a method field (the manifest fills it in)', () => {
    const { manifest } = job('--max-steps', '5000');
    expect(manifest).not.toHaveProperty('method');
    const { window } = METHOD_DEFAULTS['textual-inversion'];
    expect(JobManifest.parse(manifest)).toMatchObject({ method: 'textual-inversion', stop: { window } });
  });

  it('carries --method dreambooth-lora and its settings; the rest comes from the method defaults', () => {
    const { manifest } = job('--method', 'dreambooth-lora', '--rank', '8', '--lora-targets', 'attention');
    expect(manifest).toMatchObject({ method: 'dreambooth-lora', lora: { rank: 8, targets: 'attention' } });
    const parsed = JobManifest.parse(manifest);
    expect(parsed).toMatchObject({
      method: 'dreambooth-lora',
      training: { learningRate: 5e-4, maxSteps: 1000 },
      stop: {
        window: METHOD_DEFAULTS['dreambooth-lora'].window,
        threshold: METHOD_DEFAULTS['dreambooth-lora'].threshold,
      },
      lora: { rank: 8, alpha: 8, targets: 'attention' },
    });
  });

  it('carries --method custom-diffusion with --class-word, --class-images and --no-prior', () => {
    const { manifest } = job(
      '--method',
      'custom-diffusion',
      '--class-word',
      'cat statue',
      '--class-images',
      '0',
      '--no-prior',
    );
    expect(JobManifest.parse(manifest)).toMatchObject({
      method: 'custom-diffusion',
      training: { learningRate: 1e-5, maxSteps: 500 },
      stop: {
        window: METHOD_DEFAULTS['custom-diffusion'].window,
        threshold: METHOD_DEFAULTS['custom-diffusion'].threshold,
      },
      customDiffusion: { classWord: 'cat statue', classImages: 0, priorPreservation: false },
    });
    expect(() => job('--class-word', 'cat')).toThrow(/needs? --method custom-diffusion/);
    expect(() => job('--method', 'custom-diffusion', '--class-images', '-1')).toThrow(/--class-images/);
  });

  it('refuses unknown methods, LoRA flags without LoRA, and bad targets', () => {
    expect(() => job('--method', 'lora')).toThrow(UsageError);
    expect(() => job('--rank', '4')).toThrow(/needs? --method dreambooth-lora/);
    expect(() => job('--method', 'dreambooth-lora', '--lora-targets', 'ff')).toThrow(
      /--lora-targets: Invalid option: expected one of "paper"\|"attention" \(got 'ff'\)/,
    );
    expect(() => job('--method', 'dreambooth-lora', '--rank', '0')).toThrow(/--rank/);
  });
});

describe('on the embedded model', () => {
  const embedded = (...args: string[]) =>
    jobFromOptions(
      parseOptions(['--images', 'imgs', '--token', '<t>', ...args], JOB_OPTIONS),
      {},
      {
        embeddedModel: true,
      },
    );

  it.each(METHODS)('%s: unset --lr, --token-lr and --snr-gamma are the model’s own rates', (method) => {
    const { job } = embedded('--method', method);
    const { randomRescale: _, ...rates } = WORLD_MODEL_TRAINING[method];
    expect(job.training).toMatchObject(rates);
  });

  it('Custom Diffusion: random rescale is the model’s own setting unless a flag says otherwise', () => {
    const rescaleOf = (manifest: JobManifest) =>
      manifest.method === 'custom-diffusion' ? manifest.customDiffusion.randomRescale : undefined;
    expect(WORLD_MODEL_TRAINING['custom-diffusion'].randomRescale).toBe(false);
    expect(rescaleOf(embedded('--method', 'custom-diffusion').job)).toBe(false);
    // Another model keeps the method's default (on); a job.json that turns it on is kept.
    expect(rescaleOf(job('--method', 'custom-diffusion').job)).toBe(true);
    const asked = { method: 'custom-diffusion', customDiffusion: { randomRescale: true, classWord: 'cat' } };
    expect(withEmbeddedModelTraining(asked).customDiffusion).toEqual(asked.customDiffusion);
  });

  it('keeps what the flags set', () => {
    const { job } = embedded('--lr', '1e-3', '--snr-gamma', '2');
    expect(job.training).toMatchObject({ learningRate: 1e-3, snrGamma: 2 });
    const cd = embedded('--method', 'custom-diffusion', '--token-lr', '3e-3').job;
    expect(cd.training).toMatchObject({
      learningRate: WORLD_MODEL_TRAINING['custom-diffusion'].learningRate,
      tokenLearningRate: 3e-3,
    });
  });

  it('another model gets the method defaults', () => {
    expect(job().job.training.learningRate).toBe(METHOD_DEFAULTS['textual-inversion'].learningRate);
  });
});
