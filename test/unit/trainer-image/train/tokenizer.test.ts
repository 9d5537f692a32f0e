// The tokenizer on the fixtures' WordLevel tokenizer.json and on a hand-made CLIP BPE vocab.json + merges.txt,
// checked against hand-computed ids: lower-casing, whitespace clean-up, `</w>` word ends, BOS/EOS, padding to 77.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { clipTokenizerJson, loadTokenizer } from '../../../../trainer-image/src/train/tokenizer.ts';
import { fixtureDir } from '../../../support/fixtures.ts';

const FIXTURE = fixtureDir('tiny-sd/tokenizer');

/** A CLIP-style byte-level BPE vocabulary small enough to tokenize by hand. */
// 0–7 word-inner pieces, 8–15 the same with word ends, 16–22 merge results, 23–24 BOS/EOS.
// biome-ignore format: one row per group reads better than one token per line
const CLIP_TOKENS = [
  '!', 'a', 'c', 'h', 'o', 'p', 't', 'f',
  '!</w>', 'a</w>', 'c</w>', 'h</w>', 'o</w>', 'p</w>', 't</w>', 'f</w>',
  'ca', 'cat</w>', 'ph', 'pho', 'to</w>', 'photo</w>', 'of</w>',
  '<|startoftext|>', '<|endoftext|>',
];
const MERGES = ['#version: 0.2', 'c a', 'ca t</w>', 'p h', 'ph o', 't o</w>', 'pho to</w>', 'o f</w>', ''];

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'plateau-tok-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function clipFolder(name: string, extra: Record<string, string> = {}): string {
  const folder = join(dir, name);
  rmSync(folder, { recursive: true, force: true });
  mkdirSync(folder);
  writeFileSync(
    join(folder, 'vocab.json'),
    JSON.stringify(Object.fromEntries(CLIP_TOKENS.map((t, i) => [t, i]))),
  );
  writeFileSync(join(folder, 'merges.txt'), MERGES.join('\n'));
  for (const [file, text] of Object.entries(extra)) writeFileSync(join(folder, file), text);
  return folder;
}

function padded(ids: number[], pad: number, length = 77): number[] {
  return [...ids, ...Array(length - ids.length).fill(pad)];
}

describe('tokenizer.json (fixture: WordLevel, lowercase, whitespace, <|pad|>)', () => {
  it('encodes with BOS/EOS, lower-cases, and pads to 77 with <|pad|>', async () => {
    const tok = await loadTokenizer(FIXTURE);
    expect(tok.source).toBe('tokenizer.json');
    expect(tok.vocabSize).toBe(64);
    expect(tok.maxLength).toBe(77);
    // a=3 photo=4 of=5 cat=23 on=43 the=6 beach=49; BOS 0, EOS 2, pad 1.
    expect(await tok.encode('A photo of a CAT\n on   the beach')).toEqual(
      padded([0, 3, 4, 5, 3, 23, 43, 6, 49, 2], 1),
    );
  });

  it('truncates a long prompt to 77 ids that still end with EOS', async () => {
    const tok = await loadTokenizer(FIXTURE);
    const ids = await tok.encode(Array(100).fill('cat').join(' '));
    expect(ids).toHaveLength(77);
    expect(ids[0]).toBe(0);
    expect(ids[76]).toBe(2);
    expect(ids.slice(1, 76).every((id) => id === 23)).toBe(true);
  });

  it('adds the placeholder as the next id, matched verbatim inside prompts', async () => {
    const tok = await loadTokenizer(FIXTURE);
    expect(await tok.addPlaceholderToken('<My-Cat>')).toBe(64);
    expect(tok.vocabSize).toBe(65);
    expect(await tok.encode('a photo of <My-Cat>')).toEqual(padded([0, 3, 4, 5, 64, 2], 1));
    expect(await tok.tokenId('<My-Cat>')).toBe(64);
    expect(await tok.addPlaceholderToken('<other>')).toBe(65);
  });

  it('refuses existing, single-token and whitespace placeholders', async () => {
    const tok = await loadTokenizer(FIXTURE);
    await expect(tok.addPlaceholderToken('cat')).rejects.toThrow(/"cat" already exists in the vocabulary/);
    await expect(tok.addPlaceholderToken('Cat')).rejects.toThrow(
      /already a single token of the vocabulary \(id 23\)/,
    );
    await expect(tok.addPlaceholderToken('my cat')).rejects.toThrow(/no whitespace/);
    await expect(tok.addPlaceholderToken('')).rejects.toThrow(/non-empty/);
    await tok.addPlaceholderToken('<tok>');
    await expect(tok.addPlaceholderToken('<tok>')).rejects.toThrow(/already exists/);
    expect(tok.vocabSize).toBe(65);
  });

  it('resolves a single-token initializer and explains why others fail', async () => {
    const tok = await loadTokenizer(FIXTURE);
    expect(await tok.initializerId('Cat')).toBe(23);
    await expect(tok.initializerId('zebra')).rejects.toThrow(
      /initializer token "zebra" is not in the vocabulary/,
    );
    await expect(tok.initializerId('red cat')).rejects.toThrow(
      /must be a single token, but it tokenizes to 2/,
    );
    await expect(tok.initializerId('')).rejects.toThrow(/tokenizes to 0/);
  });
});

describe('CLIP BPE vocab.json + merges.txt', () => {
  it('lower-cases, cleans whitespace, splits punctuation and merges to </w> word ends', async () => {
    const tok = await loadTokenizer(clipFolder('sd1'));
    expect(tok.source).toBe('vocab.json+merges.txt');
    expect(tok.vocabSize).toBe(25);
    // "a photo of a cat !" → a</w>=9 photo</w>=21 of</w>=22 a</w>=9 cat</w>=17 !</w>=8; pad = <|endoftext|> (SD 1.x).
    expect(await tok.encode('  A  Photo\tof\n a CAT!')).toEqual(padded([23, 9, 21, 22, 9, 17, 8, 24], 24));
    // No merge applies to t·a·c</w>: three pieces, only the last with the word end.
    expect(await tok.encode('tac')).toEqual(padded([23, 6, 1, 10, 24], 24));
  });

  it('pads with the special_tokens_map pad token (SD 2.x uses "!")', async () => {
    const tok = await loadTokenizer(clipFolder('sd2', { 'special_tokens_map.json': '{"pad_token":"!"}' }));
    expect(await tok.encode('a cat')).toEqual(padded([23, 9, 17, 24], 0));
  });

  it('adds a placeholder after the vocabulary and checks the initializer', async () => {
    const tok = await loadTokenizer(clipFolder('ph'));
    expect(await tok.addPlaceholderToken('<my-cat>')).toBe(25);
    expect(await tok.encode('a photo of <my-cat>')).toEqual(padded([23, 9, 21, 22, 25, 24], 24));
    expect(await tok.initializerId('Photo')).toBe(21);
    await expect(tok.initializerId('tac')).rejects.toThrow(/tokenizes to 3 \("t" "a" "c<\/w>"\)/);
    await expect(tok.addPlaceholderToken('cat</w>')).rejects.toThrow(/already exists/);
    await expect(tok.addPlaceholderToken('cat')).rejects.toThrow(/already a single token/);
  });

  it('reads the same BPE from a tokenizer.json without a padding section (pads with <|endoftext|>)', async () => {
    const folder = join(dir, 'bpe-json');
    mkdirSync(folder);
    const vocab = Object.fromEntries(CLIP_TOKENS.map((t, i) => [t, i]));
    writeFileSync(join(folder, 'tokenizer.json'), clipTokenizerJson(vocab, MERGES.join('\n'), folder));
    const tok = await loadTokenizer(folder);
    expect(tok.source).toBe('tokenizer.json');
    expect(await tok.encode('A  Photo\tof a CAT!')).toEqual(padded([23, 9, 21, 22, 9, 17, 8, 24], 24));
  });

  it('fails clearly for a folder without a tokenizer or with a broken one', async () => {
    const empty = join(dir, 'empty');
    mkdirSync(empty, { recursive: true });
    await expect(loadTokenizer(empty)).rejects.toThrow(
      /no tokenizer found \(expected tokenizer.json, or CLIP BPE/,
    );
    const noBos = clipFolder('nobos');
    writeFileSync(join(noBos, 'vocab.json'), '{"a": 0}');
    await expect(loadTokenizer(noBos)).rejects.toThrow(/missing the special token <\|startoftext\|>/);
    const badJson = clipFolder('badjson', { 'tokenizer.json': '{"model": ' });
    await expect(loadTokenizer(badJson)).rejects.toThrow(/tokenizer.json: not valid JSON/);
    const badMerge = clipFolder('badmerge');
    writeFileSync(join(badMerge, 'merges.txt'), '#version: 0.2\nc a\nq z\n');
    await expect(loadTokenizer(badMerge)).rejects.toThrow(/could not load it/);
  });
});
