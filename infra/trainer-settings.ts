// The trainer's settings that are not bound resources: the same names and defaults for the Batch job
// definition (plateau-stack.ts) and the embedded runtime's job runner (embedded/), so both start it alike.
import { ENV } from '../shared/env.ts';

/** Where the trainer container caches base models (the image creates it, owned by the non-root user). */
export const TRAINER_MODEL_CACHE_DIR = '/var/cache/plateau/models';

export interface TrainerSettings {
  /** @default TRAINER_MODEL_CACHE_DIR */
  readonly modelCacheDir?: string;
  /** @default 'auto' (CUDA when present, the CPU otherwise) */
  readonly executionProvider?: 'auto' | 'cuda' | 'cpu';
  /** @default 30 */
  readonly sampleTtlDays?: number;
}

export function trainerSettings(settings: TrainerSettings = {}): Record<string, string> {
  return {
    [ENV.MODEL_CACHE_DIR]: settings.modelCacheDir ?? TRAINER_MODEL_CACHE_DIR,
    [ENV.EXECUTION_PROVIDER]: settings.executionProvider ?? 'auto',
    [ENV.SAMPLE_TTL_DAYS]: String(settings.sampleTtlDays ?? 30),
  };
}
