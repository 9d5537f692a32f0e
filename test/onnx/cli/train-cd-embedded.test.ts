/** @jest-environment ./test/onnx/support/onnx-environment.cjs */
// `plateau train --method custom-diffusion --model models/plateau-world-32` at the embedded model's own settings
// (naming its folder gets them, as leaving --model out does), on the bundled example: DVAR stops it before the
// cap, and its validation samples ("a photo of a <token> diamond": learned token and K/V) are closer to the
// concept than the same prompts with the initializer word on the base model, by the attribute classifier that
// `npm start` scores with. Samples that named the token alone, or the paper's rates, showed no such gain.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { conceptImages } from '../../../cli/commands/start-validation.ts';
import { createTrainCommand } from '../../../cli/commands/train.ts';
import { openClassifier } from '../../../models/src/classifier/classifier.ts';
import { conceptSimilarity } from '../../../models/src/classifier/concept-similarity.ts';
import { openPipelineSampler } from '../../../models/src/sampler/pipeline-sampler.ts';
import type { RenderSamples } from '../../../trainer-image/src/train/sampler.ts';

const EXAMPLE = 'examples/checkered-gem/images';
const root = mkdtempSync(join(tmpdir(), 'plateau-cd-embedded-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

test('stops by DVAR, and its samples show the concept better than the initializer word', async () => {
  const concept = await conceptImages(EXAMPLE);
  const classifier = await openClassifier('models/plateau-world-classifier/model.onnx');
  const scored: { prompts: readonly string[]; similarity: number }[] = [];
  // Scores each sample set the command asks for (learned, then the initializer's "before" set) instead of drawing
  // PNGs.
  const scoreSamples: RenderSamples = async (dir, learned, prompts, settings) => {
    const sampler = await openPipelineSampler(dir, { learned });
    try {
      const similarity = await conceptSimilarity(sampler, classifier, concept.data, concept.count, {
        prompts,
        seed: settings.seed,
        ...(settings.guidance === undefined ? {} : { guidance: settings.guidance }),
      });
      scored.push({ prompts, similarity });
    } finally {
      await sampler.release();
    }
    return prompts.map((_, i) => ({ name: `${i}.png`, body: new Uint8Array([i]), contentType: 'image/png' }));
  };
  let err = '';
  const io = { version: '0', out: { write: () => true }, err: { write: (s: string) => (err += s) } };
  const out = join(root, 'out');
  const code = await createTrainCommand(undefined, scoreSamples).run(
    [
      ...['--images', EXAMPLE, '--token', '<checkered-gem>', '--init', 'diamond'],
      ...['--model', 'models/plateau-world-32', '--method', 'custom-diffusion', '--class-word', 'diamond'],
      ...['--class-images', '40', '--samples', '4', '--out', out],
    ],
    io,
  );
  await classifier.release();
  expect({ code, err: code === 0 ? '' : err }).toEqual({ code: 0, err: '' });
  const report = JSON.parse(readFileSync(join(out, 'output', 'report.json'), 'utf8'));
  expect(report).toMatchObject({ stopReason: 'criterion', classImages: { count: 40, generated: 40 } });
  expect(report.steps).toBeLessThan(report.maxSteps);
  const [learned, before] = scored;
  expect(learned?.prompts[0]).toBe('a photo of a <checkered-gem> diamond');
  expect(before?.prompts[0]).toBe('a photo of a diamond diamond');
  // Measured: 0.942 against 0.860 at 200 class images and a 217-step stop.
  expect(learned!.similarity - before!.similarity).toBeGreaterThan(0.03);
}, 300_000);
