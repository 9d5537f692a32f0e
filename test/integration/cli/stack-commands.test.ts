// `plateau submit | status | watch | cancel` against the embedded stack (`plateau up`'s pipeline: s3rver,
// dynalite, the monitor ASL, the local job runner with the stand-in trainer of the embedded-pipeline test),
// reached only through the ready line `plateau up --json` prints, as a user's shell would.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { readyLine } from '../../../cli/commands/up-service.ts';
import { main } from '../../../cli/main.ts';
import { type EmbeddedPipeline, startEmbeddedPipeline } from '../../../infra/embedded/embedded-pipeline.ts';
import { jobKeys } from '../../../shared/keys.ts';

let pipeline: EmbeddedPipeline;
let stack: string;
const root = mkdtempSync(join(tmpdir(), 'plateau-cli-stack-'));
const images = join(root, 'images');

beforeAll(async () => {
  pipeline = await startEmbeddedPipeline({
    projectRoot: process.cwd(),
    trainerCommand: [process.execPath, 'test/integration/infra/support/fake-trainer.ts'],
    waitOverridesMs: { initial: 300, loop: 150 },
    retryIntervalMs: 10,
    log: () => {},
  });
  stack = JSON.stringify(readyLine(pipeline));
  await pipeline.stores.objects.put('models/tiny/model_index.json', new TextEncoder().encode('{}'));
  mkdirSync(images);
  for (let i = 0; i < 2; i++) {
    const png = await sharp({
      create: { width: 8, height: 8, channels: 3, background: { r: 90 * i, g: 80, b: 40 } },
    })
      .png()
      .toBuffer();
    writeFileSync(join(images, `${i}.png`), png);
  }
}, 60_000);

afterAll(async () => {
  await pipeline?.close();
  rmSync(root, { recursive: true, force: true });
});

async function cli(...args: string[]) {
  let out = '';
  let err = '';
  const code = await main(args, {
    version: '0',
    out: { write: (s: string) => (out += s) },
    err: { write: (s: string) => (err += s) },
  });
  return { code, out, err };
}

const submitArgs = (window: number) => [
  'submit',
  '--images',
  images,
  '--token',
  '<cat-toy>',
  '--init',
  'toy',
  '--model',
  'tiny',
  '--window',
  String(window),
  '--max-steps',
  '400',
  '--stack',
  stack,
];

test('submit uploads images then job.json and prints the id; watch follows it to SUCCEEDED; status shows it', async () => {
  const submitted = await cli(...submitArgs(20), '--job-id', 'cli-ok');
  expect(submitted).toMatchObject({ code: 0, out: 'cli-ok\n' });
  const keys = jobKeys('cli-ok');
  expect(await pipeline.stores.objects.head(`${keys.imagesPrefix}0.png`)).toBeDefined();

  const watched = await cli('watch', 'cli-ok', '--stack', stack, '--interval', '0.2');
  expect(watched.code).toBe(0);
  expect(watched.out).toMatch(/cli-ok {2}SUCCEEDED/);
  expect(watched.out).toMatch(/criterion at step \d+/);
  expect(watched.out).toMatch(/\n {2}trained \d+ of 400 steps: \d+% of training time saved/);
  await pipeline.idle();

  const status = await cli('status', 'cli-ok', '--stack', stack, '--json');
  expect(status.code).toBe(0);
  const summary = JSON.parse(status.out);
  expect(summary).toMatchObject({ jobId: 'cli-ok', status: 'SUCCEEDED', stopReason: 'criterion' });
  expect(summary.criterionStep).toBeLessThanOrEqual(summary.step);
  expect(summary.artifacts).toContain(keys.embedding('<cat-toy>'));
  const human = await cli('status', 'cli-ok', '--stack', stack);
  expect(human.out).toContain(`output: s3://${readyLine(pipeline).bucket}/${keys.embedding('<cat-toy>')}`);
  expect(human.out).toMatch(/trained \d+ of 400 steps: \d+% of training time saved .* at \$1\.006\/GPU-h\)/);
  // The same job id again is refused before anything is uploaded.
  expect((await cli(...submitArgs(20), '--job-id', 'cli-ok')).code).toBe(1);
}, 60_000);

test('submit without --model uses the embedded model, uploading it to the stack the first time', async () => {
  const index = 'models/plateau-world-32/model_index.json';
  expect(await pipeline.stores.objects.head(index)).toBeUndefined();
  const args = ['submit', '--images', images, '--token', '<t>', '--max-steps', '30', '--stack', stack];
  args.push('--window', '20', '--eval-every', '1'); // DVAR must be able to hold before step 30
  const first = await cli(...args, '--job-id', 'cli-default-1');
  expect(first).toMatchObject({ code: 0, out: 'cli-default-1\n' });
  expect(first.err).toMatch(/uploaded the embedded model to s3:\/\/.*\/models\/plateau-world-32\//);
  expect(await pipeline.stores.objects.head(index)).toBeDefined();
  const second = await cli(...args, '--job-id', 'cli-default-2');
  expect(second).toMatchObject({ code: 0, err: '' });
  const manifest = await pipeline.stores.objects.get(jobKeys('cli-default-2').manifest);
  expect(JSON.parse(new TextDecoder().decode(manifest))).toMatchObject({ baseModel: 'plateau-world-32' });
  await pipeline.idle();
}, 60_000);

test('submit --class-dir uploads the class images beside the instance images, checked the same way', async () => {
  const classes = join(root, 'class');
  mkdirSync(classes);
  const png = await sharp({ create: { width: 8, height: 8, channels: 3, background: '#4a8' } })
    .png()
    .toBuffer();
  writeFileSync(join(classes, 'c0.png'), png);
  writeFileSync(join(classes, 'c1.png'), png);
  const args = [...submitArgs(20), '--method', 'custom-diffusion', '--class-images', '2'];
  const submitted = await cli(...args, '--class-dir', classes, '--job-id', 'cli-class', '--json');
  expect(submitted.code).toBe(0);
  expect(JSON.parse(submitted.out)).toMatchObject({ jobId: 'cli-class', images: 2, classImages: 2 });
  const keys = jobKeys('cli-class');
  const uploaded = await pipeline.stores.objects.list(keys.classImagesPrefix);
  expect(uploaded.map((o) => o.key).sort()).toEqual([
    `${keys.classImagesPrefix}c0.png`,
    `${keys.classImagesPrefix}c1.png`,
  ]);
  await pipeline.idle();
  // A stray file in the class folder refuses the job before anything is uploaded, as in --images.
  writeFileSync(join(classes, 'notes.txt'), 'not an image');
  const bad = await cli(...args, '--class-dir', classes, '--job-id', 'cli-class-bad');
  expect(bad.code).toBe(1);
  expect(bad.err).toContain(
    `notes.txt is not a PNG, JPEG or WebP image (by its content; --class-dir ${classes})`,
  );
  expect(await pipeline.stores.objects.list('jobs/cli-class-bad/')).toEqual([]);
  // Class images are Custom Diffusion's prior preservation only.
  const ti = await cli(...submitArgs(20), '--class-dir', classes, '--job-id', 'cli-class-ti');
  expect(ti.code).toBe(2);
  expect(ti.err).toMatch(/--class-dir needs --method custom-diffusion/);
}, 60_000);

test('cancel stops a running job: CANCELLED (watch exits 3); a second cancel is refused', async () => {
  expect((await cli(...submitArgs(390), '--job-id', 'cli-cancel')).code).toBe(0);
  let step = -1;
  for (let i = 0; i < 400 && step < 10; i++) {
    const status = await cli('status', 'cli-cancel', '--stack', stack, '--json');
    if (status.code === 0) step = JSON.parse(status.out).step ?? -1;
    if (step < 10) await new Promise((resolve) => setTimeout(resolve, 25));
  }
  expect(step).toBeGreaterThanOrEqual(10);
  const cancelled = await cli('cancel', 'cli-cancel', '--stack', stack);
  expect(cancelled).toMatchObject({ code: 0 });
  expect(cancelled.out).toMatch(/cancel requested/);
  const again = await cli('cancel', 'cli-cancel', '--stack', stack);
  expect(again.code).toBe(1);
  expect(again.err).toMatch(/already (stopping|ended)/);
  const watched = await cli('watch', 'cli-cancel', '--stack', stack, '--interval', '0.2', '--json');
  expect(watched.code).toBe(3);
  const lines = watched.out
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line));
  expect(lines[lines.length - 1]).toMatchObject({ status: 'CANCELLED', stopReason: 'cancelled' });
  expect((await cli('cancel', 'cli-cancel', '--stack', stack)).err).toMatch(/already ended \(CANCELLED\)/);
}, 60_000);

test('the stack comes from PLATEAU_STACK or a file; bad input gets a clear error', async () => {
  const file = join(root, 'stack.json');
  writeFileSync(file, `${stack}\n`);
  expect((await cli('status', 'nobody', '--stack', file)).err).toMatch(/no job 'nobody'/);
  process.env.PLATEAU_STACK = stack;
  try {
    expect((await cli('status', 'nobody')).code).toBe(1);
  } finally {
    delete process.env.PLATEAU_STACK;
  }
  const none = await cli('status', 'nobody');
  expect(none.code).toBe(2);
  expect(none.err).toMatch(/no stack: pass --stack/);
  expect((await cli('status', '../etc', '--stack', stack)).err).toMatch(/not a job id/);
  expect((await cli('status', '--stack', stack)).err).toMatch(/<jobId> is required/);
  expect((await cli('status', 'x', '--stack', '{"bucket": 1}')).err).toMatch(/--stack/);
  writeFileSync(join(root, 'notes.txt'), 'not an image');
  const bad = await cli(
    'submit',
    '--images',
    root,
    '--token',
    '<t>',
    '--stack',
    stack,
    '--job-id',
    'cli-bad',
  );
  expect(bad.code).toBe(1);
  expect(bad.err).toMatch(/notes.txt is not a PNG, JPEG or WebP image/);
  expect(await pipeline.stores.objects.list('jobs/cli-bad/')).toEqual([]);
  expect((await cli('submit', '--images', images, '--stack', stack)).err).toMatch(/--token/);
});
