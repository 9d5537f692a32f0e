/** @jest-environment ./test/onnx/support/onnx-environment.cjs */
// The validation sampler on the tiny-sd fixture: latent shape from the configs, same seed → same pixels, the
// learned row changes the image, PNGs and a contact sheet of the right size, and mismatched rows are refused.
import sharp from 'sharp';
import {
  openValidationSampler,
  renderValidationSamples,
  type ValidationSampler,
} from '../../../trainer-image/src/train/sampler.ts';
import { fixtureDir } from '../../support/fixtures.ts';

const dir = fixtureDir('tiny-sd');
// Not a constant row: the encoder's LayerNorms remove a constant offset, so it would not show.
const row = (scale: number) => Float32Array.from({ length: 32 }, (_, i) => scale * Math.sin(i + 1));
let sampler: ValidationSampler;
let other: ValidationSampler;

beforeAll(async () => {
  sampler = await openValidationSampler(
    dir,
    { token: '<tok>', rows: row(0.05) },
    { device: 'cpu', intraOpThreads: 1 },
  );
  other = await openValidationSampler(
    dir,
    { token: '<tok>', rows: row(-2) },
    { device: 'cpu', intraOpThreads: 1 },
  );
});
afterAll(async () => {
  await sampler.release();
  await other.release();
});

test('images have the VAE resolution and are deterministic for a seed', async () => {
  expect(sampler.latentShape).toEqual([4, 16, 16]);
  const settings = { seed: 7, steps: 4 };
  const a = await sampler.sample(['a photo of a <tok>', 'a <tok> on a beach'], settings);
  const b = await sampler.sample(['a photo of a <tok>', 'a <tok> on a beach'], settings);
  expect(a.map((i) => [i.width, i.height, i.data.length])).toEqual([
    [32, 32, 32 * 32 * 3],
    [32, 32, 32 * 32 * 3],
  ]);
  expect(Buffer.from(a[0]!.data).equals(Buffer.from(b[0]!.data))).toBe(true);
  const c = await sampler.sample(['a photo of a <tok>'], { seed: 8, steps: 4 });
  expect(Buffer.from(c[0]!.data).equals(Buffer.from(a[0]!.data))).toBe(false);
  const d = await other.sample(['a photo of a <tok>'], settings);
  expect(Buffer.from(d[0]!.data).equals(Buffer.from(a[0]!.data))).toBe(false);
});

test('renders PNGs, a contact sheet and the prompt index', async () => {
  const prompts = ['a photo of a <tok>', 'a <tok> on a beach', 'a painting of a <tok>'];
  const files = await renderValidationSamples(sampler, prompts, { seed: 1, steps: 3, guidance: 5 });
  expect(files.map((f) => f.name)).toEqual(['0.png', '1.png', '2.png', 'contact-sheet.png', 'prompts.json']);
  expect(await sharp(files[0]!.body).metadata()).toMatchObject({ format: 'png', width: 32, height: 32 });
  expect(await sharp(files[3]!.body).metadata()).toMatchObject({ width: 3 * 32 + 4 * 4, height: 32 + 2 * 4 });
  const index = JSON.parse(new TextDecoder().decode(files[4]!.body));
  expect(index).toMatchObject({ seed: 1, steps: 3, guidance: 5 });
  expect(index.images[2]).toEqual({ file: '2.png', prompt: 'a painting of a <tok>' });
});

test('rows that do not fit the hidden size are refused', async () => {
  await expect(
    openValidationSampler(dir, { token: '<tok>', rows: new Float32Array(33) }, { device: 'cpu' }),
  ).rejects.toThrow(/hidden size 32/);
});
