// The pixel resolution a pipeline trains at, from its configs: the VAE's sample_size (what the autoencoder
// was built for), else the UNet's latent sample_size × 8 (SD's VAE downsampling).
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

async function sampleSize(path: string): Promise<number | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    return undefined;
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new Error(`${path}: not valid JSON`);
  }
  if (typeof value !== 'object' || value === null || !('sample_size' in value)) return undefined;
  const size = value.sample_size;
  return typeof size === 'number' && Number.isInteger(size) && size > 0 ? size : undefined;
}

export async function modelResolution(pipelineDir: string): Promise<number> {
  for (const folder of ['vae_encoder', 'vae']) {
    const size = await sampleSize(join(pipelineDir, folder, 'config.json'));
    if (size !== undefined) return size;
  }
  const unet = await sampleSize(join(pipelineDir, 'unet', 'config.json'));
  if (unet !== undefined) return unet * 8;
  throw new Error(
    `${pipelineDir}: cannot tell the model's resolution (no sample_size in vae_encoder or unet config.json)`,
  );
}
