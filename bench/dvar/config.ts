// The benchmark's two sizes: the full run (12 held-out concepts, ≤ 60 min on 2 cores) and --quick (CI smoke
// test, ≤ 5 min). Everything that changes a number is here and is echoed into the JSON.
import { EXAMPLE_LEARNING_RATE, EXAMPLE_SNR_GAMMA } from '../../models/src/world/example.ts';

export interface BenchConfig {
  readonly mode: 'full' | 'quick';
  readonly seed: number;
  /** Trainer seed for every run (TI default). */
  readonly trainSeed: number;
  /** TI learning rate before batch scaling: the bundled example's rate for this model (models/src/world/example.ts). */
  readonly learningRate: number;
  /** Min-SNR-γ weights of the TI objective (RunSettings.snrGamma); absent = the paper's plain MSE. */
  readonly snrGamma?: number;
  readonly tuningConcepts: number;
  readonly heldOutConcepts: number;
  readonly imagesPerConcept: number;
  /** The fixed budget: long enough that quality has plateaued on this model (the analogue of TI's 6100). */
  readonly cap: number;
  /** The sample-based rule checks every this many steps and stops after `patience` checks without a gain. */
  readonly sampleEvery: number;
  readonly patience: number;
  /** Prompts per sample check (identity only) and per final scoring. */
  readonly checkPrompts: number;
  readonly identityPrompts: number;
  readonly contextPerBackground: number;
  readonly samplerSteps: number;
  readonly guidance: number;
  readonly evalEveries: readonly number[];
  /** DVAR grid searched on the tuning concepts (window in steps). */
  readonly tuneWindows: readonly number[];
  readonly tuneThresholds: readonly number[];
  /** A tuned setting must keep this share of the fixed budget's identity on every tuning concept. */
  readonly tuneKeep: number;
  readonly threads: number;
}

const COMMON = {
  seed: 2026,
  trainSeed: 59,
  learningRate: EXAMPLE_LEARNING_RATE,
  snrGamma: EXAMPLE_SNR_GAMMA,
  imagesPerConcept: 5,
  guidance: 3,
  evalEveries: [1, 2, 4, 8],
  tuneThresholds: [0.05, 0.1, 0.15, 0.2, 0.3, 0.4],
  tuneKeep: 0.97,
  threads: 1,
} as const;

export const FULL: BenchConfig = {
  ...COMMON,
  mode: 'full',
  tuningConcepts: 4,
  heldOutConcepts: 12,
  cap: 2000,
  sampleEvery: 50,
  patience: 4,
  checkPrompts: 4,
  identityPrompts: 8,
  contextPerBackground: 2,
  samplerSteps: 20,
  tuneWindows: [40, 80, 120, 160, 240, 310],
};

export const QUICK: BenchConfig = {
  ...COMMON,
  mode: 'quick',
  tuningConcepts: 1,
  heldOutConcepts: 2,
  cap: 320,
  sampleEvery: 40,
  patience: 2,
  checkPrompts: 2,
  identityPrompts: 4,
  contextPerBackground: 1,
  samplerSteps: 8,
  tuneWindows: [20, 40, 80],
};
