// The project's own files (the embedded default model, the bundled example, the trainer entry), found from the
// package's folder rather than the working directory, so `plateau` works from anywhere; outputs stay under cwd.
import { existsSync, realpathSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { WORLD_MODEL_TRAINING } from '../models/src/world/training-rates.ts';
import type { CliIo } from './command.ts';

/** The embedded base model `run`, `train`, `submit` and `up` use when no --model is given. */
export const DEFAULT_MODEL = 'plateau-world-32';

/**
 * The base models that have their own training settings, by their name in the bucket: the web console fills its
 * form from these when the model is chosen, as withEmbeddedModelTraining (job-options.ts) fills a CLI job.
 */
export const MODEL_TRAINING = { [DEFAULT_MODEL]: WORLD_MODEL_TRAINING } as const;

/** The package folder: what bin/plateau.js passed, else the working directory (tests run from the repository root). */
export function projectRoot(io: Pick<CliIo, 'root'>): string {
  return io.root ?? process.cwd();
}

/** The embedded default model's folder inside the package. */
export function defaultModelDir(root: string): string {
  return join(root, 'models', DEFAULT_MODEL);
}

/**
 * Whether a --model folder is the embedded model (absent, or that folder by any path), so that naming it gets the
 * same training settings as leaving it out.
 */
export function isEmbeddedModel(modelDir: string | undefined, root: string): boolean {
  if (modelDir === undefined) return true;
  const real = (path: string) => (existsSync(path) ? realpathSync(path) : resolve(path));
  return real(modelDir) === real(defaultModelDir(root));
}
