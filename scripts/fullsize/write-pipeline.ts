// Writes a random-weight Stable Diffusion pipeline in the diffusers ONNX layout: each component's graph in
// model.onnx with every weight ≥ 1 KiB in its own model.onnx_data (streamed, never all in memory), plus the JSON.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { encodeModel } from '../../trainer-image/src/onnx/codec.ts';
import { DataType, type OnnxModel } from '../../trainer-image/src/onnx/model.ts';
import { type Arch, pipelineArch, type Size } from './arch.ts';
import {
  modelIndex,
  schedulerConfig,
  textEncoderConfig,
  tokenizerJson,
  unetConfig,
  vaeConfig,
} from './configs.ts';
import { emitTextEncoder } from './text-encoder.ts';
import { emitUnet } from './unet.ts';
import { emitVaeDecoder, emitVaeEncoder } from './vae.ts';
import { DATA_FILE, WeightFile } from './weight-file.ts';

export interface PipelineOptions {
  readonly arch: Arch;
  readonly size?: Size;
  readonly dtype?: 'fp32' | 'fp16';
  readonly seed?: number;
  readonly out: string;
  /** Progress lines (component, bytes written so far); default silent. */
  readonly progress?: (line: string) => void;
}

export interface ComponentSummary {
  readonly name: string;
  readonly nodes: number;
  readonly initializers: number;
  readonly parameters: number;
  readonly dataBytes: number;
  readonly ms: number;
}

const json = (value: unknown) => `${JSON.stringify(value, null, 1)}\n`;

export function writePipeline(options: PipelineOptions): ComponentSummary[] {
  const a = pipelineArch(options.arch, options.size ?? 'full');
  const dataType = options.dtype === 'fp16' ? DataType.FLOAT16 : DataType.FLOAT;
  const seed = options.seed ?? 0;
  const progress = options.progress ?? (() => {});
  mkdirSync(options.out, { recursive: true });
  writeFileSync(join(options.out, 'model_index.json'), json(modelIndex()));
  mkdirSync(join(options.out, 'scheduler'), { recursive: true });
  writeFileSync(join(options.out, 'scheduler', 'scheduler_config.json'), json(schedulerConfig(a)));
  mkdirSync(join(options.out, 'tokenizer'), { recursive: true });
  writeFileSync(
    join(options.out, 'tokenizer', 'tokenizer.json'),
    JSON.stringify(tokenizerJson(a.textEncoder.vocabSize, a.textEncoder.maxLength)),
  );

  const components: [string, (w: WeightFile) => OnnxModel, Record<string, unknown>][] = [
    ['text_encoder', (w) => emitTextEncoder(w, a.textEncoder), textEncoderConfig(a)],
    ['unet', (w) => emitUnet(w, a.unet), unetConfig(a)],
    ['vae_encoder', (w) => emitVaeEncoder(w, a.vae), vaeConfig(a)],
    ['vae_decoder', (w) => emitVaeDecoder(w, a.vae), vaeConfig(a)],
  ];
  return components.map(([name, emit, config]) => {
    const started = performance.now();
    const dir = join(options.out, name);
    mkdirSync(dir, { recursive: true });
    let reported = 0;
    const weights = new WeightFile(join(dir, DATA_FILE), dataType, seed, `fullsize/${name}`, () => {
      if (weights.bytes - reported >= 256 << 20) {
        reported = weights.bytes;
        progress(`${name}: ${(weights.bytes / 2 ** 20).toFixed(0)} MiB`);
      }
    });
    let model: OnnxModel;
    try {
      model = emit(weights);
    } finally {
      weights.close();
    }
    writeFileSync(join(dir, 'model.onnx'), encodeModel(model, { modelDir: dir }));
    writeFileSync(join(dir, 'config.json'), json(config));
    const summary: ComponentSummary = {
      name,
      nodes: model.graph.nodes.length,
      initializers: model.graph.initializers.length,
      parameters: weights.parameterCount,
      dataBytes: weights.bytes,
      ms: performance.now() - started,
    };
    progress(
      `${name}: ${summary.nodes} nodes, ${(summary.parameters / 1e6).toFixed(1)} M parameters, ` +
        `${(summary.dataBytes / 2 ** 20).toFixed(0)} MiB external data, ${(summary.ms / 1000).toFixed(1)} s`,
    );
    return summary;
  });
}
