// The web console in headless Chromium over the embedded pipeline and the real trainer on tiny-sd: a job made
// through the form, its chart growing live, the stop marker, the embedding downloaded, a screenshot (out/); then
// a Custom Diffusion job on the embedded model, its settings and the model's own rates filled by the form.
// PLATEAU_UPDATE_SCREENSHOT=1: the bundled example on models/plateau-world-32 instead, for docs/console.png.
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import sharp from 'sharp';
import { DEFAULT_MODEL, MODEL_TRAINING } from '../../../cli/project-files.ts';
import { type ConsoleServer, startConsole } from '../../../console/console-server.ts';
import { type EmbeddedPipeline, startEmbeddedPipeline } from '../../../infra/embedded/embedded-pipeline.ts';
import { jobKeys } from '../../../shared/keys.ts';
import { JobManifest } from '../../../shared/manifest.ts';
import { CUSTOM_DIFFUSION_DEFAULTS, METHOD_DEFAULTS } from '../../../shared/methods.ts';
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
const WORLD_MODEL = join(packageRoot(), 'models', DEFAULT_MODEL);
/** The bundled example's three photos. */
async function examplePhotos(): Promise<string[]> {
  const dir = join(packageRoot(), 'examples', 'checkered-gem', 'images');
  return readdirSync(dir)
    .sort()
    .map((name) => join(dir, name));
}
const EXAMPLE: FormCase = {
  model: WORLD_MODEL,
  token: '<checkered-gem>',
  init: 'diamond',
  // Nothing to set: choosing the model fills examples/checkered-gem/job.json's rates (the model's own).
  fields: {},
  photos: examplePhotos,
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
    // The embedded model too, for the Custom Diffusion job (and its own rates in the form, as `plateau up` has them).
    for (const dir of new Set([CASE.model, WORLD_MODEL])) {
      await pipeline.uploadFolder(dir, `models/${basename(dir)}/`);
    }
    web = await startConsole({
      projectRoot: process.cwd(),
      stores: pipeline.stores,
      modelTraining: MODEL_TRAINING,
    });
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

  it("fills Custom Diffusion's settings and the embedded model's own rates, and sends them in job.json", async () => {
    const started = Date.now();
    const cd = 'custom-diffusion';
    const world = MODEL_TRAINING[DEFAULT_MODEL][cd];
    const parsed = JobManifest.parse({ method: cd, token: '<t>' });
    const rescaleDefault = parsed.method === cd && parsed.customDiffusion.randomRescale;
    const form = () =>
      page.evaluate<Record<string, string | boolean>>(`(() => {
        const $ = (id) => document.querySelector("#" + id);
        const hint = (id) => $(id).closest("label").querySelector("small").textContent;
        return {
          cdShown: !$("classWord").closest(".grid").hidden,
          loraShown: !$("loraRank").closest(".grid").hidden,
          learningRate: $("learningRate").value,
          learningRateHint: hint("learningRate"),
          tokenLearningRate: $("tokenLearningRate").value,
          tokenLearningRateHint: hint("tokenLearningRate"),
          snrGamma: $("snrGamma").value,
          randomRescale: $("randomRescale").checked,
          randomRescaleHint: hint("randomRescale"),
          classWord: $("classWord").placeholder,
        };
      })()`);
    // Signed in afresh, so this test also runs alone (-t).
    await page.navigate(web.url);
    await page.waitFor('document.querySelector("table.jobs, .empty")', 10_000, 'the job list');
    await page.evaluate('location.hash = "#/new"');
    await page.waitFor('document.querySelector("#token")', 10_000, 'the new-job form');
    expect(await form()).toMatchObject({ cdShown: false, loraShown: false });

    // On a model without its own settings: the method's defaults.
    await fill('#method', cd);
    await fill('#model', 'tiny-sd');
    expect(await form()).toEqual({
      cdShown: true,
      loraShown: false,
      learningRate: String(METHOD_DEFAULTS[cd].learningRate),
      learningRateHint: `${cd} default: ${METHOD_DEFAULTS[cd].learningRate}`,
      tokenLearningRate: '',
      tokenLearningRateHint: 'empty: the learning rate',
      snrGamma: '',
      randomRescale: rescaleDefault,
      randomRescaleHint: `${cd} default: ${rescaleDefault ? 'on' : 'off'}`,
      classWord: CUSTOM_DIFFUSION_DEFAULTS.classWord,
    });
    // The embedded model: its own rates, as `plateau train` without --model gets them.
    await fill('#model', DEFAULT_MODEL);
    expect(await form()).toMatchObject({
      learningRate: String(world.learningRate),
      learningRateHint: `${DEFAULT_MODEL} setting: ${world.learningRate}`,
      tokenLearningRate: String(world.tokenLearningRate),
      tokenLearningRateHint: `${DEFAULT_MODEL} setting: ${world.tokenLearningRate}`,
      snrGamma: String(world.snrGamma),
      randomRescale: false,
      randomRescaleHint: `${DEFAULT_MODEL} setting: off`,
    });
    // Another method hides the Custom Diffusion fields and takes its own rate on this model.
    await fill('#method', 'dreambooth-lora');
    expect(await form()).toMatchObject({ cdShown: false, loraShown: true, tokenLearningRate: '' });
    await fill('#method', 'textual-inversion');
    expect(await form()).toMatchObject({
      cdShown: false,
      loraShown: false,
      learningRate: String(MODEL_TRAINING[DEFAULT_MODEL]['textual-inversion'].learningRate),
    });

    // A small Custom Diffusion job: two generated class images, a four-step budget.
    await fill('#method', cd);
    const photos = await examplePhotos();
    await page.setFiles('#images', photos);
    await page.waitFor(
      `document.querySelectorAll(".thumbs img").length === ${photos.length}`,
      5000,
      'thumbs',
    );
    await fill('#token', '<gem>');
    // A word of the embedded model's vocabulary; the class word left empty follows it.
    await fill('#init', 'diamond');
    expect((await form()).classWord).toBe('diamond');
    const job = 'console-cd';
    const fields = {
      jobId: job,
      classImages: '2',
      priorLossWeight: '0.5',
      maxSteps: '4',
      window: '2',
      evalEvery: '1',
    };
    for (const [id, value] of Object.entries(fields)) await fill(`#${id}`, value);
    await page.evaluate('document.querySelector("details.advanced").open = true');
    await writeShot('console-new-cd-job.png');
    await page.evaluate('document.querySelector("#submit").click()');
    await page.waitFor(`location.hash === "#/jobs/${job}"`, 30_000, 'the job page');

    const sent = JSON.parse(
      new TextDecoder().decode(await pipeline.stores.objects.get(jobKeys(job).manifest)),
    ) as Record<string, unknown>;
    expect(sent).toMatchObject({
      method: cd,
      token: '<gem>',
      initializerToken: 'diamond',
      baseModel: DEFAULT_MODEL,
      training: {
        learningRate: world.learningRate,
        tokenLearningRate: world.tokenLearningRate,
        snrGamma: world.snrGamma,
        maxSteps: 4,
      },
    });
    expect(sent.customDiffusion).toEqual({
      classWord: 'diamond',
      classImages: 2,
      priorPreservation: true,
      priorLossWeight: 0.5,
      randomRescale: false,
    });
    // It trains: the job ends SUCCEEDED and its page offers Custom Diffusion's diffusers file.
    for (;;) {
      const record = await pipeline.stores.jobs.get(job);
      if (record && ['SUCCEEDED', 'FAILED', 'CANCELLED'].includes(record.status)) {
        expect({ status: record.status, error: record.error }).toEqual({
          status: 'SUCCEEDED',
          error: undefined,
        });
        break;
      }
      if (Date.now() - started > 150_000) throw new Error(`job ${job} did not end: ${record?.status}`);
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    await page.waitFor(
      'document.querySelector(\'a[data-file="pytorch_custom_diffusion_weights.safetensors"]\')',
      10_000,
      "the job's Custom Diffusion weights",
    );
    expect(
      await page.evaluate(`[...document.querySelectorAll("a[data-file]")].map((a) =>
        a.dataset.file + ": " + a.closest("li").querySelector("small").textContent)`),
    ).toEqual(
      expect.arrayContaining([
        '<gem>.safetensors: learned embedding (diffusers, AUTOMATIC1111, ComfyUI)',
        'pytorch_custom_diffusion_weights.safetensors: Custom Diffusion K/V weights (diffusers load_attn_procs)',
        '<gem>-cd-delta.safetensors: K/V deltas W − W₀ (kohya .diff keys)',
      ]),
    );
    expect(page.errors).toEqual([]);
    process.stderr.write(
      `console browser test: Custom Diffusion job ${job} ${((Date.now() - started) / 1000).toFixed(1)} s\n`,
    );
  }, 180_000);
});
