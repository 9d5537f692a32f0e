// The three personalization methods and their defaults: the one place the manifest, the trainer, the CLI's
// help and the docs read them from. Training settings are the paper's (TI v1, DreamBooth-LoRA, Custom
// Diffusion); DVAR's window, threshold and evalEvery are the benchmark's choice (docs/benchmark.md).
export const METHODS = ['textual-inversion', 'dreambooth-lora', 'custom-diffusion'] as const;
export type MethodName = (typeof METHODS)[number];

export function isMethodName(value: string): value is MethodName {
  return (METHODS as readonly string[]).includes(value);
}

/** Settings every method has; the manifest fills what a job leaves out from here. */
export interface MethodDefaults {
  /** Per-image learning rate before scaling (the manifest's training.learningRate). */
  readonly learningRate: number;
  /** Multiply the learning rate by the batch size (diffusers' --scale_lr). */
  readonly scaleLr: boolean;
  readonly batchSize: number;
  /** The fixed budget: training ends here if DVAR never holds. */
  readonly maxSteps: number;
  /** DVAR window W and threshold α (ratio = var(last W) / var(all) < α stops). */
  readonly window: number;
  readonly threshold: number;
  readonly evalBatchSize: number;
  /** Evaluate the deterministic loss every this many steps (the window stays in steps: W/evalEvery values). */
  readonly evalEvery: number;
  /** The word whose embedding starts the new token row. */
  readonly initializerToken: string;
}

export type LoraTargets = 'paper' | 'attention';

export interface LoraDefaults {
  readonly rank: number;
  /** Scale = alpha / rank; alpha = rank gives scale 1, as the paper ran it. */
  readonly alpha: number;
  /** 'paper': attn1/attn2 to_q/to_k/to_v/to_out.0 + ff.net.0.proj (cloneofsimo); 'attention': the 8 attention projections (diffusers, PEFT). */
  readonly targets: LoraTargets;
}

export interface CustomDiffusionDefaults {
  /** Noun for the class prompt and captions ("a photo of a <tok> cat"). */
  readonly classWord: string;
  /** Class images used for prior preservation (generated with the base model where the job uploaded fewer). */
  readonly classImages: number;
  readonly priorPreservation: boolean;
  /** Weight of the prior (class-image) loss. */
  readonly priorLossWeight: number;
  /** Gradient-norm clip over all trained tensors together. */
  readonly maxGradNorm: number;
}

export const METHOD_DEFAULTS: { readonly [M in MethodName]: MethodDefaults } = {
  // TI v1 as in the DVAR code: lr 5e-3 × batch 2, cap 6100. DVAR tuned on the benchmark (the paper: W 310 /
  // α 0.15, every step): 10.5× fewer steps than the cap at 97.1% of its identity, evaluation overhead 5.4%.
  'textual-inversion': {
    learningRate: 5e-3,
    scaleLr: true,
    batchSize: 2,
    maxSteps: 6100,
    window: 120,
    threshold: 0.05,
    evalBatchSize: 4,
    evalEvery: 16,
    initializerToken: 'object',
  },
  // cloneofsimo LoRA as the paper ran it: lr 5e-4 × batch 2 = 1e-3 for the adapters and the token row alike.
  // DVAR tuned on the benchmark (the paper: W 440 / α 0.4): 2.87× fewer steps at 98.6% identity, overhead 9.9%.
  'dreambooth-lora': {
    learningRate: 5e-4,
    scaleLr: true,
    batchSize: 2,
    maxSteps: 1000,
    window: 240,
    threshold: 0.3,
    evalBatchSize: 4,
    evalEvery: 8,
    initializerToken: 'object',
  },
  // Custom Diffusion: 1e-5 × batch 2 × 2 (prior preservation doubles the batch) = 4e-5; cap 500. DVAR tuned on the
  // benchmark (the paper: W 180 / α 0.15): 180 / 0.2 keeps every tuning concept's identity; on the embedded model
  // CD is still learning at 500 steps, so it rarely fires before the cap (docs/benchmark.md).
  'custom-diffusion': {
    learningRate: 1e-5,
    scaleLr: true,
    batchSize: 2,
    maxSteps: 500,
    window: 180,
    threshold: 0.2,
    evalBatchSize: 4,
    evalEvery: 8,
    initializerToken: 'ktn',
  },
};

export const LORA_DEFAULTS: LoraDefaults = { rank: 4, alpha: 4, targets: 'paper' };

export const CUSTOM_DIFFUSION_DEFAULTS: CustomDiffusionDefaults = {
  classWord: 'object',
  classImages: 200,
  priorPreservation: true,
  priorLossWeight: 1,
  maxGradNorm: 1,
};
