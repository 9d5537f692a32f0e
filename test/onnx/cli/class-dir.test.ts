/** @jest-environment ./test/onnx/support/onnx-environment.cjs */
// `plateau train --class-dir`: Custom Diffusion on test/fixtures/tiny-sd with prior preservation trains on the
// folder's class images and draws none with the base model (report.json's classImages).
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { trainCommand } from '../../../cli/commands/train.ts';
import { fixtureDir } from '../../support/fixtures.ts';

const root = mkdtempSync(join(tmpdir(), 'plateau-train-class-dir-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

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

test('the class images come from the folder, none generated', async () => {
  await pngs(join(root, 'images'), 2, 120);
  await pngs(join(root, 'class'), 3, 220);
  let err = '';
  const io = { version: '0', out: { write: () => true }, err: { write: (s: string) => (err += s) } };
  const out = join(root, 'out');
  const code = await trainCommand.run(
    [
      ...[
        '--images',
        join(root, 'images'),
        '--token',
        '<toy>',
        '--init',
        'cat',
        '--model',
        fixtureDir('tiny-sd'),
      ],
      ...['--method', 'custom-diffusion', '--class-word', 'toy', '--class-images', '3'],
      ...['--class-dir', join(root, 'class'), '--max-steps', '4', '--batch-size', '1', '--no-dvar'],
      ...['--samples', '0', '--out', out],
    ],
    io,
  );
  expect({ code, err: code === 0 ? '' : err }).toEqual({ code: 0, err: '' });
  expect(err).toContain('class images: 3 uploaded, 0 from the base model');
  const report = JSON.parse(readFileSync(join(out, 'output', 'report.json'), 'utf8'));
  expect(report.classImages).toMatchObject({ count: 3, generated: 0 });
}, 120_000);
