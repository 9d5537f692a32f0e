// The text tokenizer of a diffusers pipeline's tokenizer/ folder, on the official Hugging Face `tokenizers`
// binding: tokenizer.json as is, or CLIP BPE vocab.json + merges.txt turned into the equivalent tokenizer.json
// (the one CLIPTokenizerFast uses). Ids are padded/truncated to 77 with BOS/EOS; the placeholder is a new id.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { AddedToken, Tokenizer } from 'tokenizers';
import { z } from 'zod';

/** CLIP's context length: every SD 1.x/2.x text encoder takes exactly this many ids. */
export const CLIP_MAX_LENGTH = 77;

export interface TextTokenizer {
  /** Which files it was loaded from. */
  readonly source: 'tokenizer.json' | 'vocab.json+merges.txt';
  /** Length of every encoding (BOS + text + EOS, then padding). */
  readonly maxLength: number;
  /** Number of ids including added tokens: the next new id, and the text encoder's token table height. */
  readonly vocabSize: number;
  /** Ids for a prompt: BOS, text (truncated), EOS, padding to maxLength. */
  encode(text: string): Promise<number[]>;
  /**
   * Adds the placeholder (e.g. `<my-cat>`) as a new id (= the current vocabSize) and returns it. It matches the
   * prompt text verbatim (before lower-casing). Refuses a token that is already in the vocabulary or already
   * one token as written (it would change the meaning of existing prompts), and tokens with whitespace.
   */
  addPlaceholderToken(token: string): Promise<number>;
  /** The id of a word that tokenizes to exactly one known token; throws otherwise. */
  tokenId(word: string): Promise<number>;
  /** tokenId for the initializer word, with an error that says what the initializer must be. */
  initializerId(word: string): Promise<number>;
  /** Whether every word of `text` is in the vocabulary (none maps to the unknown token). */
  knows(text: string): Promise<boolean>;
}

const Vocab = z.record(z.string(), z.number().int().nonnegative());
const TokenizerJson = z.looseObject({
  model: z.looseObject({ type: z.string(), unk_token: z.string().nullish() }),
  padding: z.looseObject({ pad_token: z.string(), pad_id: z.number().int() }).nullish(),
});
const SpecialToken = z.union([z.string(), z.looseObject({ content: z.string() })]).nullish();
const TokenizerConfig = z.looseObject({ pad_token: SpecialToken, unk_token: SpecialToken });

const BOS = '<|startoftext|>';
const EOS = '<|endoftext|>';

/**
 * CLIP's word splitter, as transformers' CLIPConverter writes it (the special tokens of the original pattern are
 * added tokens here, matched before pre-tokenization).
 */
const CLIP_SPLIT = String.raw`'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+`;

async function readOptional(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    if ((error as { code?: unknown }).code === 'ENOENT') return undefined;
    throw error;
  }
}

function parseJson<T>(text: string, schema: z.ZodType<T>, path: string): T {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new Error(`${path}: not valid JSON (${error instanceof Error ? error.message : error})`);
  }
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw new Error(`${path}: unexpected content (${z.prettifyError(parsed.error)})`);
  return parsed.data;
}

function specialContent(value: z.infer<typeof SpecialToken>): string | undefined {
  if (value === null || value === undefined) return undefined;
  return typeof value === 'string' ? value : value.content;
}

/**
 * The tokenizer.json that transformers' CLIPConverter builds from vocab.json + merges.txt (what CLIPTokenizerFast
 * uses): NFC, whitespace runs → one space, lower-case; CLIP's word regex; byte-level alphabet; BPE with `</w>`
 * word ends; BOS … EOS (a template equal to its RobertaProcessing for one sequence).
 */
export function clipTokenizerJson(vocab: Record<string, number>, mergesText: string, dir: string): string {
  for (const special of [BOS, EOS]) {
    if (vocab[special] === undefined)
      throw new Error(`${dir}/vocab.json: missing the special token ${special}`);
  }
  const merges = mergesText
    .split(/\r?\n/)
    .filter((line) => line.trim() !== '' && !line.startsWith('#version'));
  merges.forEach((line, i) => {
    if (line.split(' ').length !== 2) {
      throw new Error(`${dir}/merges.txt: line ${i + 2} is not a pair "left right": ${JSON.stringify(line)}`);
    }
  });
  const special = (content: string) => ({
    id: vocab[content]!,
    content,
    single_word: false,
    lstrip: false,
    rstrip: false,
    normalized: true,
    special: true,
  });
  return JSON.stringify({
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: [special(BOS), special(EOS)],
    normalizer: {
      type: 'Sequence',
      normalizers: [
        { type: 'NFC' },
        { type: 'Replace', pattern: { Regex: String.raw`\s+` }, content: ' ' },
        { type: 'Lowercase' },
      ],
    },
    pre_tokenizer: {
      type: 'Sequence',
      pretokenizers: [
        { type: 'Split', pattern: { Regex: CLIP_SPLIT }, behavior: 'Removed', invert: true },
        { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
      ],
    },
    post_processor: {
      type: 'TemplateProcessing',
      single: [
        { SpecialToken: { id: BOS, type_id: 0 } },
        { Sequence: { id: 'A', type_id: 0 } },
        { SpecialToken: { id: EOS, type_id: 0 } },
      ],
      pair: [
        { SpecialToken: { id: BOS, type_id: 0 } },
        { Sequence: { id: 'A', type_id: 0 } },
        { Sequence: { id: 'B', type_id: 0 } },
        { SpecialToken: { id: EOS, type_id: 0 } },
      ],
      special_tokens: {
        [BOS]: { id: BOS, ids: [vocab[BOS]!], tokens: [BOS] },
        [EOS]: { id: EOS, ids: [vocab[EOS]!], tokens: [EOS] },
      },
    },
    decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: EOS,
      continuing_subword_prefix: '',
      end_of_word_suffix: '</w>',
      fuse_unk: false,
      byte_fallback: false,
      vocab,
      merges,
    },
  });
}

interface Loaded {
  readonly source: TextTokenizer['source'];
  readonly tokenizer: Tokenizer;
  readonly unkToken: string | undefined;
  readonly padToken: string | undefined;
}

async function loadFromFolder(dir: string): Promise<Loaded> {
  const configText = await readOptional(join(dir, 'tokenizer_config.json'));
  const config = configText
    ? parseJson(configText, TokenizerConfig, `${dir}/tokenizer_config.json`)
    : undefined;
  const mapText = await readOptional(join(dir, 'special_tokens_map.json'));
  const specialMap = mapText
    ? parseJson(mapText, TokenizerConfig, `${dir}/special_tokens_map.json`)
    : undefined;
  const configPad = specialContent(specialMap?.pad_token) ?? specialContent(config?.pad_token);

  const jsonPath = join(dir, 'tokenizer.json');
  const jsonText = await readOptional(jsonPath);
  if (jsonText !== undefined) {
    const doc = parseJson(jsonText, TokenizerJson, jsonPath);
    if (doc.model.type !== 'WordLevel' && doc.model.type !== 'BPE') {
      throw new Error(`${jsonPath}: model type ${doc.model.type} is not supported (WordLevel or BPE)`);
    }
    return {
      source: 'tokenizer.json',
      tokenizer: wrapLoad(() => Tokenizer.fromString(jsonText), jsonPath),
      unkToken: doc.model.unk_token ?? undefined,
      // CLIP's own tokenizer.json has no padding section; SD 1.x pads with <|endoftext|>.
      padToken: doc.padding?.pad_token ?? configPad ?? EOS,
    };
  }
  const vocabText = await readOptional(join(dir, 'vocab.json'));
  const mergesText = await readOptional(join(dir, 'merges.txt'));
  if (vocabText === undefined || mergesText === undefined) {
    throw new Error(
      `${dir}: no tokenizer found (expected tokenizer.json, or CLIP BPE vocab.json + merges.txt)`,
    );
  }
  const vocab = parseJson(vocabText, Vocab, `${dir}/vocab.json`);
  const json = clipTokenizerJson(vocab, mergesText, dir);
  return {
    source: 'vocab.json+merges.txt',
    tokenizer: wrapLoad(() => Tokenizer.fromString(json), `${dir}/vocab.json + merges.txt`),
    unkToken: EOS,
    // SD 1.x pads with <|endoftext|>; SD 2.x's special_tokens_map.json says "!".
    padToken: configPad ?? EOS,
  };
}

function wrapLoad(load: () => Tokenizer, what: string): Tokenizer {
  try {
    return load();
  } catch (error) {
    throw new Error(
      `${what}: the tokenizers library could not load it (${error instanceof Error ? error.message : error})`,
    );
  }
}

/** Loads `<pipeline>/tokenizer`: tokenizer.json if present, else CLIP BPE vocab.json + merges.txt. */
export async function loadTokenizer(
  dir: string,
  options: { maxLength?: number } = {},
): Promise<TextTokenizer> {
  const maxLength = options.maxLength ?? CLIP_MAX_LENGTH;
  const { source, tokenizer, unkToken, padToken } = await loadFromFolder(dir);
  const padId = padToken === undefined ? undefined : tokenizer.tokenToId(padToken);
  if (padToken === undefined || padId === null || padId === undefined) {
    throw new Error(`${dir}: the padding token ${padToken ?? '(none configured)'} is not in the vocabulary`);
  }
  const unkId = unkToken === undefined ? undefined : (tokenizer.tokenToId(unkToken) ?? undefined);
  // Truncation keeps room for BOS/EOS (the post-processor adds them), so a long prompt still ends with EOS.
  tokenizer.setTruncation(maxLength);
  tokenizer.setPadding({ maxLength, padId, padToken, direction: 'right' });

  const pieces = async (text: string): Promise<{ ids: number[]; tokens: string[] }> => {
    const encoding = await tokenizer.encode(text, null, { addSpecialTokens: false });
    // Padding applies here too; the attention mask tells the text's own tokens from the padding.
    const mask = encoding.getAttentionMask();
    const keep = (_: unknown, i: number) => mask[i] === 1;
    return { ids: encoding.getIds().filter(keep), tokens: encoding.getTokens().filter(keep) };
  };
  const singleToken = async (word: string, role: string): Promise<number> => {
    const { ids, tokens } = await pieces(word);
    const real = ids.filter((id) => id !== padId || padId === unkId);
    const realTokens = tokens.slice(0, real.length);
    if (real.length !== 1) {
      throw new Error(
        `${role} ${JSON.stringify(word)} must be a single token, but it tokenizes to ${real.length} ` +
          `(${realTokens.map((t) => JSON.stringify(t)).join(' ') || 'nothing'}); choose a word that is one token`,
      );
    }
    if (real[0] === unkId && word !== unkToken) {
      throw new Error(
        `${role} ${JSON.stringify(word)} is not in the vocabulary (it maps to the unknown token)`,
      );
    }
    return real[0]!;
  };

  return {
    source,
    maxLength,
    get vocabSize() {
      return tokenizer.getVocabSize(true);
    },
    async encode(text) {
      const ids = (await tokenizer.encode(text)).getIds();
      if (ids.length !== maxLength) {
        throw new Error(
          `tokenizer produced ${ids.length} ids for ${JSON.stringify(text)}, expected ${maxLength}`,
        );
      }
      return ids;
    },
    async addPlaceholderToken(token) {
      if (token === '' || /\s/.test(token)) {
        throw new Error(
          `placeholder token ${JSON.stringify(token)} must be non-empty and contain no whitespace`,
        );
      }
      if (tokenizer.tokenToId(token) !== null) {
        throw new Error(
          `placeholder token ${JSON.stringify(token)} already exists in the vocabulary; choose another`,
        );
      }
      const { ids } = await pieces(token);
      if (ids.length === 1 && ids[0] !== unkId) {
        throw new Error(
          `placeholder token ${JSON.stringify(token)} is already a single token of the vocabulary (id ${ids[0]}); ` +
            'choose a new word, e.g. one in angle brackets',
        );
      }
      const id = tokenizer.getVocabSize(true);
      tokenizer.addAddedTokens([new AddedToken(token, false, { normalized: false })]);
      const added = tokenizer.tokenToId(token);
      if (added !== id)
        throw new Error(`placeholder token ${JSON.stringify(token)} got id ${added}, expected ${id}`);
      return id;
    },
    tokenId: (word) => singleToken(word, 'token'),
    initializerId: (word) => singleToken(word, 'initializer token'),
    async knows(text) {
      if (unkId === undefined) return true;
      const { ids } = await pieces(text);
      return ids.every((id) => id !== unkId);
    },
  };
}
