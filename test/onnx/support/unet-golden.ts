// A fixture's UNet with the golden textual-inversion step's inputs (noisy latents, timesteps, encoder states,
// noise) and an MSE loss appended, so LoRA and Custom Diffusion surgery can be checked against golden-lora / golden-cd
// without the text encoder: their weight gradients depend on the text side only through ti.encoder_hidden_states.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  readSafetensors,
  type SafetensorsFile,
  toBigInt64,
  toFloat32,
  toFloat64,
} from '../../../shared/safetensors.ts';
import type { Projection } from '../../../trainer-image/src/onnx/attention-projections.ts';
import { encodeModel, loadModel } from '../../../trainer-image/src/onnx/codec.ts';
import {
  DataType,
  type OnnxGraph,
  type OnnxModel,
  type OnnxTensor,
} from '../../../trainer-image/src/onnx/model.ts';
import { loadNodeMetadata, type NodeMetadata } from '../../../trainer-image/src/onnx/node-metadata.ts';
import { transpose2d, weightOutIn } from '../../../trainer-image/src/onnx/weight-values.ts';
import { Session, type TypedTensor } from '../../../trainer-image/src/runtime/session.ts';
import { fixtureDir } from '../../support/fixtures.ts';

export interface GoldenUnet {
  readonly model: OnnxModel;
  readonly nodeMetadata: NodeMetadata;
  readonly golden: SafetensorsFile;
  readonly lora: SafetensorsFile;
  readonly cd: SafetensorsFile;
}

export function loadGoldenUnet(fixture: string): GoldenUnet {
  const dir = fixtureDir(fixture);
  const path = join(dir, 'unet', 'model.onnx');
  const read = (file: string) => readSafetensors(new Uint8Array(readFileSync(join(dir, file))));
  return {
    model: loadModel(path),
    nodeMetadata: loadNodeMetadata(path),
    golden: read('golden.safetensors'),
    lora: read('golden-lora.safetensors'),
    cd: read('golden-cd.safetensors'),
  };
}

export function tensorOf(file: SafetensorsFile, key: string) {
  const t = file.tensors.get(key);
  if (!t) throw new Error(`golden tensor '${key}' missing`);
  return t;
}

export function float32Feed(file: SafetensorsFile, key: string): TypedTensor {
  const t = tensorOf(file, key);
  return { dataType: DataType.FLOAT, dims: t.shape, data: toFloat32(t) };
}

export function float64Of(file: SafetensorsFile, key: string): Float64Array {
  return toFloat64(tensorOf(file, key));
}

/** The plain UNet forward feeds of golden.safetensors (unet.sample, unet.timestep, unet.encoder_hidden_states). */
export function forwardFeeds(g: GoldenUnet): Record<string, TypedTensor> {
  const t = tensorOf(g.golden, 'unet.timestep');
  return {
    sample: float32Feed(g.golden, 'unet.sample'),
    timestep: { dataType: DataType.INT64, dims: t.shape, data: toBigInt64(t) },
    encoder_hidden_states: float32Feed(g.golden, 'unet.encoder_hidden_states'),
  };
}

/** The golden TI step's UNet feeds plus `noise` for the loss graph (ti.* of golden.safetensors). */
export function stepFeeds(g: GoldenUnet): Record<string, TypedTensor> {
  const t = tensorOf(g.golden, 'ti.timesteps');
  return {
    sample: float32Feed(g.golden, 'ti.noisy_latents'),
    timestep: { dataType: DataType.INT64, dims: t.shape, data: toBigInt64(t) },
    encoder_hidden_states: float32Feed(g.golden, 'ti.encoder_hidden_states'),
    noise: float32Feed(g.golden, 'ti.noise'),
  };
}

/** The graph with `loss` = mean((out_sample − noise)²) as its only output (epsilon prediction, as golden.json). */
export function withMseLoss(graph: OnnxGraph): OnnxGraph {
  const out = graph.outputs[0];
  if (!out) throw new Error('UNet has no output');
  return {
    ...graph,
    nodes: [
      ...graph.nodes,
      {
        name: 'loss/sub',
        opType: 'Sub',
        domain: '',
        inputs: [out.name, 'noise'],
        outputs: ['loss/diff'],
        attributes: {},
      },
      {
        name: 'loss/sq',
        opType: 'Mul',
        domain: '',
        inputs: ['loss/diff', 'loss/diff'],
        outputs: ['loss/sq'],
        attributes: {},
      },
      {
        name: 'loss/mean',
        opType: 'ReduceMean',
        domain: '',
        inputs: ['loss/sq'],
        outputs: ['loss'],
        attributes: { keepdims: { type: 'int', value: 0 } },
      },
    ],
    inputs: [...graph.inputs, { name: 'noise', dataType: DataType.FLOAT, dims: out.dims }],
    outputs: [{ name: 'loss', dataType: DataType.FLOAT, dims: [] }],
  };
}

/** max |x − ref| / max |ref|, the fixtures' rel_err. */
export function relErr(x: ArrayLike<number>, ref: ArrayLike<number>): number {
  if (x.length !== ref.length) throw new Error(`length ${x.length} vs ${ref.length}`);
  let num = 0;
  let den = 0;
  for (let i = 0; i < ref.length; i++) {
    num = Math.max(num, Math.abs((x[i] ?? 0) - (ref[i] ?? 0)));
    den = Math.max(den, Math.abs(ref[i] ?? 0));
  }
  return num / den;
}

/** The UNet's first output for `feeds`, in a one-thread session released afterwards. */
export async function outSample(model: OnnxModel, feeds: Record<string, TypedTensor>): Promise<Float32Array> {
  const session = await Session.create(encodeModel(model), { intraOpThreads: 1 });
  try {
    const out = Object.values(await session.run(feeds))[0]?.data;
    if (!(out instanceof Float32Array)) throw new Error('no float output');
    return out;
  } finally {
    await session.release();
  }
}

/** A projection's base weight as PyTorch's W [out, in]. */
export function initialWeight(graph: OnnxGraph, p: Projection): Float32Array {
  const t = graph.initializers.find((i) => i.name === p.weight);
  if (!t) throw new Error(`no initializer ${p.weight}`);
  return weightOutIn(t, p.weightLayout);
}

/** The graph with each projection's initializer replaced by W' [out, in] (stored back in its own layout). */
export function withWeights(
  graph: OnnxGraph,
  projections: readonly Projection[],
  weight: (p: Projection) => Float32Array,
): OnnxGraph {
  const byName = new Map(projections.map((p) => [p.weight, p]));
  const initializers = graph.initializers.map((t): OnnxTensor => {
    const p = byName.get(t.name);
    if (!p) return t;
    const w = weight(p);
    const stored = p.weightLayout === 'in-out' ? transpose2d(w, p.outFeatures, p.inFeatures) : w;
    return {
      ...t,
      data: { kind: 'raw', bytes: new Uint8Array(stored.buffer, stored.byteOffset, stored.byteLength) },
    };
  });
  return { ...graph, initializers };
}
