// Which --model folders count as the embedded model: naming its folder (by any path) must give the same training
// settings as leaving --model out; another model gets the method's defaults.
import { mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { parseTrainOptions } from '../../../cli/commands/train.ts';
import { defaultModelDir, isEmbeddedModel } from '../../../cli/project-files.ts';
import { WORLD_MODEL_TRAINING } from '../../../models/src/world/training-rates.ts';
import { METHOD_DEFAULTS } from '../../../shared/methods.ts';
import { fixtureDir } from '../../support/fixtures.ts';

const root = process.cwd();
const scratch = mkdtempSync(join(tmpdir(), 'plateau-model-dir-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

test('absent, absolute, relative or through a symlink: the embedded model; another folder is not', () => {
  const link = join(scratch, 'world');
  symlinkSync(defaultModelDir(root), link);
  expect(isEmbeddedModel(undefined, root)).toBe(true);
  expect(isEmbeddedModel(defaultModelDir(root), root)).toBe(true);
  expect(isEmbeddedModel(relative(process.cwd(), defaultModelDir(root)), root)).toBe(true);
  expect(isEmbeddedModel(link, root)).toBe(true);
  expect(isEmbeddedModel(fixtureDir('tiny-sd'), root)).toBe(false);
  expect(isEmbeddedModel(join(scratch, 'missing'), root)).toBe(false);
});

test('plateau train --model <the embedded folder> gets its rates and guidance, as without --model', () => {
  const args = ['--images', 'imgs', '--token', '<t>', '--method', 'custom-diffusion'];
  const named = parseTrainOptions([...args, '--model', 'models/plateau-world-32'], root);
  const unnamed = parseTrainOptions(args, root);
  const other = parseTrainOptions([...args, '--model', fixtureDir('tiny-sd')], root);
  const own = WORLD_MODEL_TRAINING['custom-diffusion'];
  for (const options of [named, unnamed]) {
    expect(options.manifest.training).toMatchObject({
      learningRate: own.learningRate,
      tokenLearningRate: own.tokenLearningRate,
    });
    // The embedded model's model_index.json asks for 3 (shared/model-index.ts).
    expect(options.sampleSettings.guidance).toBe(3);
  }
  expect(other.manifest.training.learningRate).toBe(METHOD_DEFAULTS['custom-diffusion'].learningRate);
  expect(other.manifest.training.tokenLearningRate).toBeUndefined();
  expect(other.sampleSettings.guidance).toBe(7.5);
});
