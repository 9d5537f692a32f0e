// Text-to-image sampling from a pipeline folder (this project's pixel-space base model): tokenizer, text encoder
// and UNet on onnxruntime, DDIM with classifier-free guidance. Optionally with learned placeholder tokens: the
// text encoder's token table is grown by their rows (the same splice the trainer uses), so a textual-inversion
// embedding can be drawn.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { encodeModel, loadModel } from '../../../trainer-image/src/onnx/codec.ts';
import type { OnnxGraph } from '../../../trainer-image/src/onnx/model.ts';
import { Session, type TypedTensor } from '../../../trainer-image/src/runtime/session.ts';
import { parseSchedulerConfig } from '../../../trainer-image/src/train/ddpm.ts';
import { Rng } from '../../../trainer-image/src/train/rng.ts';
import { loadTokenizer } from '../../../trainer-image/src/train/tokenizer.ts';
import { ddimSample } from './ddim.ts';

export interface LearnedToken {
  readonly token: string;
  /** [nVectors × D] rows; nVectors = 1 here. */
  readonly row: Float32Array;
}

export interface SampleOptions {
  readonly seed: number;
  readonly steps?: number;
  readonly guidance?: number;
}

export interface PipelineSampler {
  /** CHW float32 images in [−1, 1], one per prompt, concatenated. */
  sample(prompts: readonly string[], options: SampleOptions): Promise<Float32Array>;
  readonly imageSize: number;
  release(): Promise<void>;
}

const ROWS_INPUT = 'learned_token_rows';
const TABLE = 'te.token_embedding.weight';

/** Grows this model's token table by a [1, D] rows input: the Gather reads Concat(table, rows). */
function growTokenTable(graph: OnnxGraph): { graph: OnnxGraph; hiddenSize: number } {
  const table = graph.initializers.find((t) => t.name === TABLE);
  const hiddenSize = table?.dims[1];
  if (!table || hiddenSize === undefined) throw new Error(`text encoder: no token table '${TABLE}'`);
  const grown = `${TABLE}/with_learned_rows`;
  return {
    hiddenSize,
    graph: {
      ...graph,
      nodes: [
        {
          name: `${grown}/Concat`,
          opType: 'Concat',
          domain: '',
          inputs: [TABLE, ROWS_INPUT],
          outputs: [grown],
          attributes: { axis: { type: 'int', value: 0 } },
        },
        ...graph.nodes.map((n) =>
          n.opType === 'Gather' && n.inputs[0] === TABLE
            ? { ...n, inputs: [grown, ...n.inputs.slice(1)] }
            : n,
        ),
      ],
      inputs: [...graph.inputs, { name: ROWS_INPUT, dataType: table.dataType, dims: [1, hiddenSize] }],
    },
  };
}

export async function openPipelineSampler(
  dir: string,
  options: { learned?: LearnedToken; threads?: number } = {},
): Promise<PipelineSampler> {
  const sessionOptions = { intraOpThreads: options.threads ?? 1 };
  const tokenizer = await loadTokenizer(join(dir, 'tokenizer'));
  const te = loadModel(join(dir, 'text_encoder', 'model.onnx'));
  let teBytes: Uint8Array;
  let rows: TypedTensor | undefined;
  if (options.learned) {
    await tokenizer.addPlaceholderToken(options.learned.token);
    const spliced = growTokenTable(te.graph);
    teBytes = encodeModel({ ...te, graph: spliced.graph });
    rows = { dataType: 1, dims: [1, spliced.hiddenSize], data: options.learned.row };
  } else {
    teBytes = encodeModel(te);
  }
  const textEncoder = await Session.create(teBytes, sessionOptions);
  const unet = await Session.create(join(dir, 'unet', 'model.onnx'), sessionOptions);
  const schedule = parseSchedulerConfig(
    JSON.parse(readFileSync(join(dir, 'scheduler', 'scheduler_config.json'), 'utf8')),
  );
  const unetConfig: unknown = JSON.parse(readFileSync(join(dir, 'unet', 'config.json'), 'utf8'));
  const cfg = unetConfig as { sample_size?: unknown; in_channels?: unknown };
  const size = typeof cfg.sample_size === 'number' ? cfg.sample_size : 32;
  const channels = typeof cfg.in_channels === 'number' ? cfg.in_channels : 3;
  const L = tokenizer.maxLength;

  const encode = async (prompts: readonly string[]): Promise<TypedTensor> => {
    const ids = new BigInt64Array(prompts.length * L);
    for (let b = 0; b < prompts.length; b++) {
      (await tokenizer.encode(prompts[b] ?? '')).forEach((id, i) => {
        ids[b * L + i] = BigInt(id);
      });
    }
    const feeds: Record<string, TypedTensor> = {
      input_ids: { dataType: 7, dims: [prompts.length, L], data: ids },
    };
    if (rows) feeds[ROWS_INPUT] = rows;
    const out = (await textEncoder.run(feeds, ['last_hidden_state'])).last_hidden_state;
    if (!out) throw new Error('text encoder returned no last_hidden_state');
    return out;
  };

  return {
    imageSize: size,
    async sample(prompts, o) {
      const n = prompts.length;
      const context = await encode([...prompts, ...prompts.map(() => '')]);
      const per = channels * size * size;
      const noise = Rng.forStream(o.seed, 'sample-noise').normal(n * per);
      return ddimSample(
        schedule,
        async (x, t) => {
          const doubled = new Float32Array(2 * n * per);
          doubled.set(x);
          doubled.set(x, n * per);
          const out = await unet.run(
            {
              sample: { dataType: 1, dims: [2 * n, channels, size, size], data: doubled },
              timestep: { dataType: 7, dims: [2 * n], data: new BigInt64Array(2 * n).fill(BigInt(t)) },
              encoder_hidden_states: context,
            },
            ['out_sample'],
          );
          const eps = out.out_sample?.data;
          if (!(eps instanceof Float32Array)) throw new Error('unet returned no out_sample');
          return { cond: eps.subarray(0, n * per), uncond: eps.subarray(n * per) };
        },
        noise,
        { steps: o.steps ?? 50, guidance: o.guidance ?? 3 },
      );
    },
    async release() {
      await textEncoder.release();
      await unet.release();
    },
  };
}
