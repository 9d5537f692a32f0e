// `plateau run --class-dir`: a Custom Diffusion job on the embedded pipeline with the real trainer and
// test/fixtures/tiny-sd trains on the class images uploaded from the folder (it generates none); a folder with a
// stray file is refused before anything starts. (`plateau train --class-dir`: test/onnx/cli/class-dir.test.ts.)
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import type { CliIo } from '../../../cli/command.ts';
import { parseRunOptions } from '../../../cli/commands/run.ts';
import { runLocalJob } from '../../../cli/commands/run-service.ts';
import { readSafetensors } from '../../../shared/safetensors.ts';
import { fixtureDir } from '../../support/fixtures.ts';

const root = mkdtempSync(join(tmpdir(), 'plateau-class-dir-'));
const images = join(root, 'images');
const classes = join(root, 'class');

async function pngs(dir: string, count: number, green: number): Promise<void> {
  mkdirSync(dir, { recursive: true });
  for (let i = 0; i < count; i++) {
    const background = { r: 60 * i, g: green, b: 40 };
    const png = await sharp({ create: { width: 40, height: 40, channels: 3, background } })
      .png()
      .toBuffer();
    writeFileSync(join(dir, `${i}.png`), png);
  }
}

beforeAll(async () => {
  await pngs(images, 2, 120);
  await pngs(classes, 3, 220);
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

function capture(): CliIo & { readonly text: { out: string; err: string } } {
  const text = { out: '', err: '' };
  return {
    version: '0',
    text,
    out: { write: (s: string) => (text.out += s) },
    err: { write: (s: string) => (text.err += s) },
  };
}

const jobArgs = (classDir: string) => [
  ...['--images', images, '--token', '<toy>', '--init', 'cat', '--model', fixtureDir('tiny-sd')],
  ...['--method', 'custom-diffusion', '--class-word', 'toy', '--class-images', '3', '--class-dir', classDir],
  ...['--max-steps', '6', '--batch-size', '1', '--no-dvar'],
];
const args = (jobId: string, classDir: string) => [
  ...jobArgs(classDir),
  ...['--job-id', jobId, '--out', join(root, 'out')],
];

test('the trainer uses the uploaded class images and generates none', async () => {
  const io = capture();
  const code = await runLocalJob(parseRunOptions(args('class-dir', classes)), io, { pollMs: 100 });
  expect({ code, err: code === 0 ? '' : io.text.err }).toEqual({ code: 0, err: '' });
  expect(io.text.err).toContain(`plateau run: 3 class image(s) uploaded from ${classes}`);
  const token = readSafetensors(
    new Uint8Array(readFileSync(join(root, 'out', 'class-dir', '<toy>.safetensors'))),
  );
  // Prior preservation ran on 3 class images, none of them drawn by the base model.
  expect(token.metadata['plateau.prior_class_images']).toBe('3');
  expect(token.metadata['plateau.class_images_generated']).toBe('0');
}, 240_000);

test('a class folder with a file that is no image fails before the pipeline starts', async () => {
  const bad = join(root, 'bad-class');
  await pngs(bad, 1, 10);
  writeFileSync(join(bad, 'notes.txt'), 'not an image');
  const started = Date.now();
  await expect(runLocalJob(parseRunOptions(args('bad-class', bad)), capture())).rejects.toThrow(
    `notes.txt is not a PNG, JPEG or WebP image (by its content; --class-dir ${bad})`,
  );
  // Refused from the folder alone: no embedded services were started (they take seconds).
  expect(Date.now() - started).toBeLessThan(1000);
  await expect(runLocalJob(parseRunOptions(args('no-class', join(root, 'nope'))), capture())).rejects.toThrow(
    `--class-dir ${join(root, 'nope')}: no such folder`,
  );
});
