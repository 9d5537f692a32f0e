// The embedded model's own training settings per method, where plateau-world-32 needs other values than the
// paper's (shared/methods.ts, tuned for Stable Diffusion at 512 px): the learning rate before batch scaling and
// the min-SNR γ of the loss. The bundled example's job.json and the benchmark read them from here; a job on this
// model passes them as `training.learningRate` / `training.snrGamma` (or `--lr` / `--snr-gamma`).
import { METHOD_DEFAULTS, type MethodName } from '../../../shared/methods.ts';

export interface ModelTrainingSettings {
  /** Per-image learning rate before batch scaling (the manifest's training.learningRate). */
  readonly learningRate: number;
  /** Min-SNR-γ loss weights (the manifest's training.snrGamma). */
  readonly snrGamma: number;
  /** The token row's own rate before batch scaling (training.tokenLearningRate); absent = `learningRate`. */
  readonly tokenLearningRate?: number;
  /** Custom Diffusion's masked loss with random rescale (customDiffusion.randomRescale); absent = on. */
  readonly randomRescale?: boolean;
}

export const WORLD_MODEL_TRAINING: { readonly [M in MethodName]: ModelTrainingSettings } = {
  // 4× the paper's 5e-3: at the paper's rate the token's samples get no closer to the concept than the
  // initializer's (docs/benchmark.md); min-SNR weights keep it from drifting to background texture.
  'textual-inversion': { learningRate: 2e-2, snrGamma: 5 },
  // The paper's rate learns on this model (docs/benchmark.md, docs/methods.md).
  'dreambooth-lora': { learningRate: METHOD_DEFAULTS['dreambooth-lora'].learningRate, snrGamma: 5 },
  // K/V at 10× the paper's 1e-5 (at 1e-5 they barely move in 500 steps), the token row at TI's rate (× batch 2
  // × 2 with the prior = 4e-2, TI's effective rate): at the K/V rate the token stays its initializer word.
  // Random rescale off: its size hints ("a far away", "zoomed in") are not in this model's 68-word vocabulary,
  // and without them the zoomed copies only blur what size the concept is; with it the deterministic loss does
  // not fall in 500 steps (bench/dvar/lr-sweep.ts, docs/benchmark.md).
  'custom-diffusion': { learningRate: 1e-4, tokenLearningRate: 1e-2, snrGamma: 5, randomRescale: false },
};
