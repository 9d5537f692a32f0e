// Which rescale hints a tokenizer can spell (TextTokenizer.knows): a hint with a word outside the vocabulary is
// left out of the captions rather than fed as unknown tokens. The embedded model's 68 words know none of them.
import { join } from 'node:path';
import { RESCALE_HINTS } from '../../../trainer-image/src/train/random-rescale.ts';
import { loadTokenizer } from '../../../trainer-image/src/train/tokenizer.ts';
import { fixtureDir, packageRoot } from '../../support/fixtures.ts';

test('knows: every word in the vocabulary, or not', async () => {
  const tok = await loadTokenizer(join(fixtureDir('tiny-sd'), 'tokenizer'));
  expect(await tok.knows('a photo of a toy')).toBe(true);
  expect(await tok.knows('a far away ')).toBe(false);
  expect(await tok.knows('a photo of a zebra')).toBe(false);
});

test('the embedded model knows none of the reference hints', async () => {
  const tok = await loadTokenizer(join(packageRoot(), 'models', 'plateau-world-32', 'tokenizer'));
  for (const hint of [...RESCALE_HINTS.far, ...RESCALE_HINTS.near]) expect(await tok.knows(hint)).toBe(false);
  expect(await tok.knows('a small object')).toBe(true);
});
