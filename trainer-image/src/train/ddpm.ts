// DDPM forward noising for training, from a diffusers scheduler_config.json: the β schedule (linear or
// scaled_linear), ᾱ_t = Π(1 − β), noisy = sqrt(ᾱ_t)·x0 + sqrt(1 − ᾱ_t)·ε, and the regression target
// (ε for epsilon prediction, v = sqrt(ᾱ_t)·ε − sqrt(1 − ᾱ_t)·x0 for v_prediction). Float32 like diffusers.
import { z } from 'zod';

const schedulerConfigSchema = z.looseObject({
  beta_start: z.number().positive().default(0.0001),
  beta_end: z.number().positive().default(0.02),
  beta_schedule: z.string().default('linear'),
  num_train_timesteps: z.number().int().positive().default(1000),
  prediction_type: z.string().default('epsilon'),
});

export type PredictionType = 'epsilon' | 'v_prediction';

export interface DdpmSchedule {
  readonly numTrainTimesteps: number;
  readonly predictionType: PredictionType;
  /** ᾱ_t for t = 0..T−1, float32 values. */
  readonly alphasCumprod: Float32Array;
}

/** Parses a scheduler_config.json object; rejects schedules and targets the trainer does not implement. */
export function parseSchedulerConfig(json: unknown): DdpmSchedule {
  const parsed = schedulerConfigSchema.safeParse(json);
  if (!parsed.success) throw new Error(`scheduler_config.json: ${z.prettifyError(parsed.error)}`);
  const cfg = parsed.data;
  if (cfg.prediction_type !== 'epsilon' && cfg.prediction_type !== 'v_prediction') {
    throw new Error(
      `scheduler_config.json: prediction_type '${cfg.prediction_type}' is not supported (epsilon or v_prediction)`,
    );
  }
  const n = cfg.num_train_timesteps;
  const betas = new Float32Array(n);
  // torch.linspace in float32 over [start, end]; scaled_linear squares a linspace of square roots.
  const linspace = (start: number, end: number, i: number): number =>
    n === 1 ? start : Math.fround(start + ((end - start) * i) / (n - 1));
  if (cfg.beta_schedule === 'scaled_linear') {
    const a = Math.fround(Math.sqrt(cfg.beta_start));
    const b = Math.fround(Math.sqrt(cfg.beta_end));
    for (let i = 0; i < n; i++) betas[i] = linspace(a, b, i) ** 2;
  } else if (cfg.beta_schedule === 'linear') {
    for (let i = 0; i < n; i++) betas[i] = linspace(cfg.beta_start, cfg.beta_end, i);
  } else {
    throw new Error(
      `scheduler_config.json: beta_schedule '${cfg.beta_schedule}' is not supported (linear or scaled_linear)`,
    );
  }
  const alphasCumprod = new Float32Array(n);
  let product = 1;
  for (let i = 0; i < n; i++) {
    product = Math.fround(product * Math.fround(1 - betas[i]!));
    alphasCumprod[i] = product;
  }
  return { numTrainTimesteps: n, predictionType: cfg.prediction_type, alphasCumprod };
}

function coefficients(schedule: DdpmSchedule, t: number): { signal: number; noise: number } {
  const abar = schedule.alphasCumprod[t];
  if (abar === undefined || !Number.isInteger(t)) {
    throw new Error(`timestep ${t} outside [0, ${schedule.numTrainTimesteps})`);
  }
  return { signal: Math.fround(Math.sqrt(abar)), noise: Math.fround(Math.sqrt(Math.fround(1 - abar))) };
}

/**
 * Noisy latents and the training target for a batch laid out [B, ...] with per-item timesteps.
 * `x0` and `noise` have the same length, a multiple of the batch size.
 */
export function noiseAndTarget(
  schedule: DdpmSchedule,
  x0: Float32Array,
  noise: Float32Array,
  timesteps: readonly number[],
): { noisy: Float32Array; target: Float32Array } {
  if (x0.length !== noise.length || x0.length % timesteps.length !== 0) {
    throw new Error(`ddpm: latents (${x0.length}) and noise (${noise.length}) do not fit the batch`);
  }
  const per = x0.length / timesteps.length;
  const noisy = new Float32Array(x0.length);
  const target = schedule.predictionType === 'epsilon' ? noise.slice() : new Float32Array(x0.length);
  timesteps.forEach((t, b) => {
    const { signal, noise: sigma } = coefficients(schedule, t);
    for (let i = b * per; i < (b + 1) * per; i++) {
      noisy[i] = Math.fround(signal * x0[i]!) + Math.fround(sigma * noise[i]!);
      if (schedule.predictionType === 'v_prediction') {
        target[i] = Math.fround(signal * noise[i]!) - Math.fround(sigma * x0[i]!);
      }
    }
  });
  return { noisy, target };
}

/**
 * Min-SNR-γ loss weight of a timestep with cumulative ᾱ (Hang et al., 2023): min(SNR, γ)/SNR for ε targets,
 * min(SNR, γ)/(SNR + 1) for v targets, SNR = ᾱ/(1 − ᾱ). Scales the squared error so low-noise steps, whose target
 * is mostly detail no conditioning can predict, stop dominating the gradient.
 */
export function minSnrWeight(alphaCumprod: number, gamma: number, prediction: PredictionType): number {
  const snr = alphaCumprod / (1 - alphaCumprod);
  return Math.min(snr, gamma) / (prediction === 'v_prediction' ? snr + 1 : snr);
}
