/** @jest-environment ./test/onnx/support/onnx-environment.cjs */
// The VAE encoder session reproduces the tiny-sd golden latent_parameters for the golden input image.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { openVaeEncoder } from '../../../trainer-image/src/train/vae-encoder.ts';
import { fixtureDir } from '../../support/fixtures.ts';

const FIXTURE = fixtureDir('tiny-sd');

function goldenF32(name: string): Float32Array {
  const bytes = readFileSync(join(FIXTURE, 'golden.safetensors'));
  const n = Number(bytes.readBigUInt64LE(0));
  const header = JSON.parse(bytes.subarray(8, 8 + n).toString('utf8'));
  const [start, end] = header[name].data_offsets as [number, number];
  return new Float32Array(new Uint8Array(bytes.subarray(8 + n + start, 8 + n + end)).buffer);
}

describe('openVaeEncoder', () => {
  it('encodes the golden image to the golden latent parameters', async () => {
    const vae = await openVaeEncoder(FIXTURE);
    try {
      const { data, dims } = await vae.encode({
        data: goldenF32('vae_encoder.sample'),
        channels: 3,
        height: 32,
        width: 32,
      });
      expect(dims).toEqual([1, 8, 16, 16]);
      const expected = goldenF32('vae_encoder.latent_parameters');
      const maxDiff = Math.max(...expected.map((x, i) => Math.abs(x - data[i]!)));
      expect(maxDiff).toBeLessThan(1e-4);
    } finally {
      await vae.release();
    }
  });
});
