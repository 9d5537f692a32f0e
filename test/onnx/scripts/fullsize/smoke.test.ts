/** @jest-environment ./test/onnx/support/onnx-environment.cjs */
// CI smoke test of the full-size code path at the tiny size: the generator's external data (seeded, laid out as
// exporters write it, fp32 and fp16), and `plateau train` in low-memory mode (one gated session, weights by
// reference) where 4 steps straight and 2 steps + --resume to 4 give the same embedding bit for bit.
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { createTrainCommand } from '../../../../cli/commands/train.ts';
import { writePipeline } from '../../../../scripts/fullsize/write-pipeline.ts';
import { readSafetensors, toFloat32 } from '../../../../shared/safetensors.ts';
import { loadModel } from '../../../../trainer-image/src/onnx/codec.ts';
import { DataType } from '../../../../trainer-image/src/onnx/model.ts';
import { Session } from '../../../../trainer-image/src/runtime/session.ts';
import { loadOnnxModel } from '../../../../trainer-image/src/train/onnx-model.ts';

const root = mkdtempSync(join(tmpdir(), 'plateau-fullsize-smoke-'));
const TOKEN = '<smoke>';
const COMPONENTS = ['text_encoder', 'unet', 'vae_encoder', 'vae_decoder'];

afterAll(() => rmSync(root, { recursive: true, force: true }));
jest.setTimeout(300_000);

const digest = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');

describe('make-fullsize-model at the tiny size', () => {
  it('writes one model.onnx_data per component, seeded, with every reference inside it', () => {
    const a = join(root, 'a');
    const summary = writePipeline({ arch: 'sd15', size: 'tiny', seed: 3, out: a });
    writePipeline({ arch: 'sd15', size: 'tiny', seed: 3, out: join(root, 'b') });
    writePipeline({ arch: 'sd15', size: 'tiny', seed: 4, out: join(root, 'c') });
    for (const component of COMPONENTS) {
      const data = join(a, component, 'model.onnx_data');
      const model = loadModel(join(a, component, 'model.onnx'));
      let end = 0;
      for (const t of model.graph.initializers) {
        if (t.data.kind !== 'external') continue;
        expect(t.data.location).toBe('model.onnx_data');
        expect(t.data.offset).toBe(end);
        end += t.data.length ?? 0;
      }
      expect(statSync(data).size).toBe(end);
      expect(summary.find((s) => s.name === component)?.dataBytes).toBe(end);
      expect(digest(join(root, 'b', component, 'model.onnx_data'))).toBe(digest(data));
      expect(digest(join(root, 'c', component, 'model.onnx_data'))).not.toBe(digest(data));
    }
    for (const file of ['model_index.json', 'scheduler/scheduler_config.json', 'tokenizer/tokenizer.json']) {
      expect(statSync(join(a, file)).isFile()).toBe(true);
    }
  });

  it('writes fp16 weights and graphs onnxruntime runs', async () => {
    const dir = join(root, 'fp16');
    writePipeline({ arch: 'sd21', size: 'tiny', dtype: 'fp16', out: dir });
    const unet = loadModel(join(dir, 'unet', 'model.onnx'));
    expect(unet.graph.initializers.every((t) => t.dataType === DataType.FLOAT16)).toBe(true);
    const te = await Session.create(join(dir, 'text_encoder', 'model.onnx'));
    const ids = new BigInt64Array(77).fill(49407n);
    const out = await te.run({ input_ids: { dataType: DataType.INT64, dims: [1, 77], data: ids } });
    await te.release();
    expect(out.last_hidden_state?.dataType).toBe(DataType.FLOAT16);
    expect(out.last_hidden_state?.dims).toEqual([1, 77, 48]);
  });
});

describe('plateau train on a generated pipeline in low-memory mode', () => {
  it('4 steps straight = 2 steps, then --resume to 4', async () => {
    const model = join(root, 'train-model');
    writePipeline({ arch: 'sd15', size: 'tiny', out: model });
    const images = join(root, 'images');
    mkdirSync(images, { recursive: true });
    for (let k = 0; k < 2; k++) {
      const raw = Buffer.alloc(40 * 40 * 3);
      for (let i = 0; i < raw.length; i++) raw[i] = (i * (k + 5) * 3 + k * 70) % 256;
      await sharp(raw, { raw: { width: 40, height: 40, channels: 3 } })
        .png()
        .toFile(join(images, `img${k}.png`));
    }
    // The three runs share one loaded model (it holds no training state): one session creation, not three.
    let shared: ReturnType<typeof loadOnnxModel> | undefined;
    const command = createTrainCommand(async (request) => {
      shared ??= loadOnnxModel(request, { device: 'cpu', lowMemory: true });
      return { ...(await shared), release: async () => {} };
    });
    const train = async (out: string, extra: string[]) => {
      let stdout = '';
      const code = await command.run(
        [
          '--model',
          model,
          '--images',
          images,
          '--token',
          TOKEN,
          '--init',
          'toy',
          '--out',
          out,
          '--no-dvar',
          ...extra,
        ],
        { version: 'test', out: { write: (s: string) => (stdout += s) }, err: { write: () => {} } },
      );
      expect(code).toBe(0);
      return JSON.parse(stdout) as { steps: number };
    };
    const args = ['--samples', '0', '--checkpoint-every', '2'];
    await train(join(root, 'straight'), ['--max-steps', '4', ...args]);
    await train(join(root, 'split'), ['--max-steps', '2', ...args]);
    expect(await train(join(root, 'split'), ['--max-steps', '4', '--resume', ...args])).toMatchObject({
      steps: 4,
    });
    const embedding = (out: string) => {
      const file = readSafetensors(new Uint8Array(readFileSync(join(out, 'output', `${TOKEN}.safetensors`))));
      const t = file.tensors.get(TOKEN);
      if (!t) throw new Error(`no ${TOKEN} in ${out}`);
      return toFloat32(t);
    };
    expect(embedding(join(root, 'split'))).toEqual(embedding(join(root, 'straight')));
    await (await shared)?.release();
  });
});
