// Text-to-image sampling from a pipeline folder (this project's pixel-space base model): the trainer's conditioned
// UNet (conditioned-unet.ts: learned token rows spliced into the text encoder and a method's trained UNet tensors
// applied, exactly as trained) under DDIM with classifier-free guidance, in pixel space (no VAE).

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type LearnedToken, openConditionedUnet } from '../../../trainer-image/src/train/conditioned-unet.ts';
import { parseSchedulerConfig } from '../../../trainer-image/src/train/ddpm.ts';
import { Rng } from '../../../trainer-image/src/train/rng.ts';
import { ddimSample } from './ddim.ts';

export type { LearnedToken } from '../../../trainer-image/src/train/conditioned-unet.ts';

export interface SampleOptions {
  readonly seed: number;
  readonly steps?: number;
  readonly guidance?: number;
}

export interface PipelineSampler {
  /** CHW float32 images in [−1, 1], one per prompt, concatenated. */
  sample(prompts: readonly string[], options: SampleOptions): Promise<Float32Array>;
  readonly imageSize: number;
  release(): Promise<void>;
}

export async function openPipelineSampler(
  dir: string,
  options: { learned?: LearnedToken; threads?: number } = {},
): Promise<PipelineSampler> {
  const model = await openConditionedUnet(dir, options.learned, { intraOpThreads: options.threads ?? 1 });
  const schedule = parseSchedulerConfig(
    JSON.parse(readFileSync(join(dir, 'scheduler', 'scheduler_config.json'), 'utf8')),
  );
  const [channels, size] = model.sampleShape;
  return {
    imageSize: size,
    async sample(prompts, o) {
      const n = prompts.length;
      const context = await model.encode([...prompts, ...prompts.map(() => '')]);
      const per = channels * size * size;
      const noise = Rng.forStream(o.seed, 'sample-noise').normal(n * per);
      return ddimSample(
        schedule,
        async (x, t) => {
          const doubled = new Float32Array(2 * n * per);
          doubled.set(x);
          doubled.set(x, n * per);
          const eps = await model.predict(doubled, 2 * n, t, context);
          return { cond: eps.subarray(0, n * per), uncond: eps.subarray(n * per) };
        },
        noise,
        { steps: o.steps ?? 50, guidance: o.guidance ?? 3 },
      );
    },
    release: () => model.release(),
  };
}
