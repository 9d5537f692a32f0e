// The pipeline's VAE encoder as a VaeEncode function: one image [1, 3, H, W] in, latent_parameters
// [1, 2C, h, w] (mean ‖ logvar) out, on an onnxruntime session (input and output names read from the model).
import { join } from 'node:path';
import type { Session, SessionOptions } from '../runtime/session.ts';
import type { VaeEncode } from './batches.ts';
import { openUpcast } from './upcast-session.ts';

export interface VaeEncoder {
  readonly encode: VaeEncode;
  release(): Promise<void>;
}

export async function openVaeEncoder(pipelineDir: string, options: SessionOptions = {}): Promise<VaeEncoder> {
  const path = join(pipelineDir, 'vae_encoder', 'model.onnx');
  let session: Session;
  try {
    session = await openUpcast(path, pipelineDir, options);
  } catch (error) {
    throw new Error(
      `${path}: cannot load the VAE encoder (${error instanceof Error ? error.message : String(error)})`,
    );
  }
  const input = session.inputNames[0];
  const output = session.outputNames.includes('latent_parameters')
    ? 'latent_parameters'
    : session.outputNames[0];
  if (input === undefined || output === undefined)
    throw new Error(`${path}: the VAE encoder has no input or output`);
  return {
    encode: async (image) => {
      const result = await session.run(
        { [input]: { dataType: 1, dims: [1, image.channels, image.height, image.width], data: image.data } },
        [output],
      );
      const tensor = result[output];
      if (!tensor || !(tensor.data instanceof Float32Array)) {
        throw new Error(`${path}: output ${output} is not a float32 tensor`);
      }
      return { data: tensor.data, dims: tensor.dims };
    },
    release: () => session.release(),
  };
}
