// The web console in headless Chromium over the embedded pipeline and the real trainer on tiny-sd: a job made
// through the form, its chart growing live, the stop marker, the embedding downloaded, a screenshot (out/).
// PLATEAU_UPDATE_SCREENSHOT=1: the bundled example on models/plateau-world-32 instead, for docs/console.png.
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import sharp from 'sharp';
import { type ConsoleServer, startConsole } from '../../../console/console-server.ts';
import { type EmbeddedPipeline, startEmbeddedPipeline } from '../../../infra/embedded/embedded-pipeline.ts';
import { jobKeys } from '../../../shared/keys.ts';
import { METHOD_DEFAULTS } from '../../../shared/methods.ts';
import { readSafetensors } from '../../../shared/safetensors.ts';
import { fixtureDir, packageRoot } from '../../support/fixtures.ts';
import { type ChromiumPage, findChromium, HeadlessChromium } from './support/headless-chromium.ts';

const chromium = findChromium();
const JOB = 'console-e2e';
const WIDTH = 1200;

/** What the form is filled with: a tiny budget on the fixture, or the bundled example for the docs picture. */
interface FormCase {
  readonly model: string;
  readonly token: string;
  readonly init: string;
  readonly fields: Readonly<Record<string, string>>;
  readonly photos: () => Promise<string[]>;
  readonly screenshot: string;
}
const TINY: FormCase = {
  model: fixtureDir('tiny-sd'),
  token: '<toy>',
  init: 'cat',
  // evalEvery 1: the 20-step window holds 20 losses, so DVAR can fire within 400 steps on the tiny model.
  fields: { maxSteps: '400', batchSize: '1', window: '20', evalBatchSize: '2', evalEvery: '1' },
  photos: () => drawnPhotos(),
  screenshot: join(packageRoot(), 'out', 'console.png'),
};
const EXAMPLE: FormCase = {
  model: join(packageRoot(), 'models', 'plateau-world-32'),
  token: '<checkered-gem>',
  init: 'diamond',
  // examples/checkered-gem/job.json's settings for this model.
  fields: { learningRate: '0.02', snrGamma: '5' },
  photos: async () => {
    const dir = join(packageRoot(), 'examples', 'checkered-gem', 'images');
    return readdirSync(dir)
      .sort()
      .map((name) => join(dir, name));
  },
  screenshot: join(packageRoot(), 'docs', 'console.png'),
};
const CASE = process.env.PLATEAU_UPDATE_SCREENSHOT ? EXAMPLE : TINY;

let pipeline: EmbeddedPipeline;
let web: ConsoleServer;
let browser: HeadlessChromium;
let page: ChromiumPage;
const scratch = mkdtempSync(join(tmpdir(), 'plateau-console-test-'));
const lines: string[] = [];

/** Two small "photos" of a concept: a checkered diamond on two backgrounds. */
async function drawnPhotos(): Promise<string[]> {
  const dir = join(scratch, 'photos');
  mkdirSync(dir);
  return Promise.all(
    ['#f6e7c8', '#d7ecf5'].map(async (background, i) => {
      const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="64" height="64">
        <rect width="64" height="64" fill="${background}"/>
        <defs><pattern id="c" width="8" height="8" patternUnits="userSpaceOnUse">
          <rect width="8" height="8" fill="#7b3fb5"/><rect width="4" height="4" fill="#f2d22e"/>
          <rect x="4" y="4" width="4" height="4" fill="#f2d22e"/></pattern></defs>
        <polygon points="32,${8 + i * 4} 56,32 32,${56 - i * 4} 8,32" fill="url(#c)" stroke="#222" stroke-width="2"/>
      </svg>`;
      const path = join(dir, `gem-${i}.png`);
      writeFileSync(path, await sharp(Buffer.from(svg)).png().toBuffer());
      return path;
    }),
  );
}

/** Other views, for a person to look at: out/ only. */
async function writeShot(name: string): Promise<void> {
  const dir = join(packageRoot(), 'out');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, name), await page.screenshot(WIDTH));
  await page.resize(WIDTH, 900);
}

/** Sets a form field as a person typing would (fires input and change). */
function fill(selector: string, value: string): Promise<unknown> {
  return page.evaluate(`(() => {
    const el = document.querySelector(${JSON.stringify(selector)});
    el.value = ${JSON.stringify(value)};
    el.dispatchEvent(new Event('input', { bubbles: true }));
    el.dispatchEvent(new Event('change', { bubbles: true }));
    return true;
  })()`);
}

const describeInBrowser = chromium ? describe : describe.skip;
if (!chromium) {
  process.stderr.write('console browser test skipped: no chromium (bash scripts/install-chromium.sh)\n');
}

describeInBrowser('the web console in headless Chromium', () => {
  beforeAll(async () => {
    pipeline = await startEmbeddedPipeline({
      projectRoot: process.cwd(),
      waitOverridesMs: { initial: 500 },
      retryIntervalMs: 10,
      log: (line) => lines.push(line),
    });
    await pipeline.uploadFolder(CASE.model, `models/${basename(CASE.model)}/`);
    web = await startConsole({ projectRoot: process.cwd(), stores: pipeline.stores });
    browser = await HeadlessChromium.launch(chromium ?? '');
    page = await browser.newPage(WIDTH, 900);
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await web?.close();
    await pipeline?.close();
    rmSync(scratch, { recursive: true, force: true });
  });

  it('creates a job through the form, draws the chart live, marks the stop and downloads the embedding', async () => {
    const started = Date.now();
    await page.navigate(web.url);
    await page.waitFor('document.querySelector("table.jobs, .empty")', 10_000, 'the job list');

    // The form: photos, token, initializer word, method and model, and a tiny budget so DVAR stops in seconds.
    await page.evaluate('location.hash = "#/new"');
    await page.waitFor('document.querySelector("#token")', 10_000, 'the new-job form');
    expect(await page.evaluate('document.querySelector("#window").value')).toBe(
      String(METHOD_DEFAULTS['textual-inversion'].window),
    );
    expect(
      await page.evaluate('[...document.querySelectorAll("#method option")].map((o) => o.value)'),
    ).toEqual(['textual-inversion', 'dreambooth-lora', 'custom-diffusion']);
    // A folder of photos, as a person picks one (the folder input), and a dotfile the form leaves out.
    const photos = await CASE.photos();
    const folder = join(scratch, 'folder');
    mkdirSync(folder, { recursive: true });
    for (const path of photos) writeFileSync(join(folder, basename(path)), readFileSync(path));
    writeFileSync(join(folder, '.DS_Store'), 'not a photo');
    await page.setFiles('#folder', [folder]);
    await page.waitFor(
      `document.querySelectorAll(".thumbs img").length === ${photos.length}`,
      5000,
      'the thumbnails',
    );
    await fill('#token', CASE.token);
    await fill('#init', CASE.init);
    await fill('#model', basename(CASE.model));
    await fill('#jobId', JOB);
    for (const [id, value] of Object.entries(CASE.fields)) await fill(`#${id}`, value);
    await page.evaluate('document.querySelector("details.advanced").open = true');
    await writeShot('console-new-job.png');
    await page.evaluate('document.querySelector("#submit").click()');
    await page.waitFor(`location.hash === "#/jobs/${JOB}"`, 30_000, 'the job page');

    // The uploads took the user's path: images, then job.json, under jobs/<jobId>/input/.
    const keys = jobKeys(JOB);
    const inputs = (await pipeline.stores.objects.list(`${keys.root}input/`)).map((o) => o.key).sort();
    expect(inputs).toEqual(
      [keys.manifest, ...photos.map((path) => `${keys.imagesPrefix}${basename(path)}`)].sort(),
    );

    // The chart gains points while the job runs, then shows the stop marker.
    const seen = new Set<number>();
    let unmarked = 0;
    let live = false;
    for (;;) {
      const state = await page.evaluate<{ points: number; status: string; marker: boolean }>(`(() => {
        const chart = document.querySelector("#chart");
        return {
          points: Number(chart.dataset.points),
          status: chart.dataset.status ?? "",
          marker: (chart.querySelector("svg")?.textContent ?? "").includes("stop @"),
        };
      })()`);
      const ended = ['SUCCEEDED', 'FAILED', 'CANCELLED'].includes(state.status);
      if (state.points > 0 && !ended) {
        seen.add(state.points);
        // Before DVAR holds the chart has no stop marker; it appears with the criterion step.
        if (!state.marker) unmarked += 1;
        if (!live && state.points >= 10) {
          live = true;
          await writeShot('console-live.png');
        }
      }
      if (ended) break;
      if (Date.now() - started > 200_000) throw new Error(`job did not end: ${JSON.stringify(state)}`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    expect(unmarked).toBeGreaterThan(0);
    expect(seen.size).toBeGreaterThanOrEqual(2);
    const record = await pipeline.stores.jobs.get(JOB);
    expect(record).toMatchObject({ status: 'SUCCEEDED', stopReason: 'criterion' });
    const criterion = record?.criterionStep;
    expect(await page.evaluate('document.querySelector("#chart").dataset.criterionStep')).toBe(
      String(criterion),
    );
    expect(await page.evaluate('document.querySelector("#chart svg").textContent')).toContain(
      `stop @ ${criterion}`,
    );
    await page.waitFor('document.querySelector(".message.success")', 10_000, 'the savings line');
    expect(await page.evaluate('document.querySelector(".message.success").textContent')).toContain(
      `DVAR held at step ${criterion}`,
    );

    // Download the embedding through its link; the bytes are the bucket's.
    const download = await browser.allowDownloads(join(scratch, 'downloads'));
    const link = `document.querySelector('a[data-file="${CASE.token}.safetensors"]')`;
    await page.waitFor(link, 10_000, 'the embedding link');
    const next = download();
    await page.evaluate(`${link}.click()`);
    const file = await next;
    const bytes = new Uint8Array(readFileSync(file.path));
    expect(readSafetensors(bytes).tensors.has(CASE.token)).toBe(true);
    expect(bytes).toEqual(await pipeline.stores.objects.get(keys.embedding(CASE.token)));

    // The picture for the docs: the job page at its end, samples and downloads included.
    await page.evaluate('window.scrollTo(0, 0)');
    await page.waitFor('[...document.images].every((img) => img.complete)', 10_000, 'the images');
    const target = CASE.screenshot;
    mkdirSync(join(target, '..'), { recursive: true });
    writeFileSync(target, await page.screenshot(WIDTH));
    await page.resize(WIDTH, 900);
    await page.evaluate('location.hash = "#/"');
    await page.waitFor(
      `document.querySelector('tr[data-job="${JOB}"] [data-status="SUCCEEDED"]')`,
      10_000,
      'the list',
    );
    await writeShot('console-jobs.png');
    expect(page.errors).toEqual([]);
    process.stderr.write(
      `console browser test: job ${JOB} stopped at criterion step ${criterion} (last ${record?.lastStep}); ` +
        `chart seen at ${[...seen].join(', ')} points; ${((Date.now() - started) / 1000).toFixed(1)} s; screenshot ${target}\n`,
    );
  }, 240_000);
});
