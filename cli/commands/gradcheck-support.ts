// What the three gradchecks (textual inversion, LoRA, Custom Diffusion) share: relative error, golden tensors as
// session feeds, and timed runs. Kept apart so gradcheck.ts can dispatch to the method's own check without a cycle.
import { type SafetensorsFile, toBigInt64, toFloat32, toFloat64 } from '../../shared/safetensors.ts';
import { DataType } from '../../trainer-image/src/onnx/model.ts';
import type { Session, TypedTensor } from '../../trainer-image/src/runtime/session.ts';
import type { TrainingGraph } from '../../trainer-image/src/train/training-graph.ts';

/** ‖ours − ref‖₂ / ‖ref‖₂ in float64. */
export function relativeError(ours: ArrayLike<number>, ref: ArrayLike<number>): number {
  if (ours.length !== ref.length) throw new Error(`length mismatch: ${ours.length} vs ${ref.length}`);
  let num = 0;
  let den = 0;
  for (let i = 0; i < ref.length; i++) {
    const d = (ours[i] ?? 0) - (ref[i] ?? 0);
    num += d * d;
    den += (ref[i] ?? 0) ** 2;
  }
  return Math.sqrt(num) / Math.sqrt(den);
}

export function median(values: readonly number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? (s[mid] ?? 0) : ((s[mid - 1] ?? 0) + (s[mid] ?? 0)) / 2;
}

export function tensor(golden: SafetensorsFile, key: string) {
  const t = golden.tensors.get(key);
  if (!t) throw new Error(`golden.safetensors has no '${key}'`);
  return t;
}

/** The float64 reference where the golden file has one, else the float32 one. */
export function reference(golden: SafetensorsFile, name: string): Float64Array {
  return toFloat64(golden.tensors.get(`ti64.${name}`) ?? tensor(golden, `ti.${name}`));
}

export function feedFor(
  dataType: number,
  dims: readonly number[],
  values: Float64Array | BigInt64Array,
): TypedTensor {
  const big = values instanceof BigInt64Array;
  switch (dataType) {
    case DataType.INT64:
      return {
        dataType,
        dims,
        data: big ? values : BigInt64Array.from(values, (v) => BigInt(Math.round(v))),
      };
    case DataType.INT32:
      return { dataType, dims, data: Int32Array.from(big ? Array.from(values, Number) : values) };
    case DataType.FLOAT:
      return { dataType, dims, data: Float32Array.from(big ? Array.from(values, Number) : values) };
    case DataType.DOUBLE:
      return { dataType, dims, data: Float64Array.from(big ? Array.from(values, Number) : values) };
    default:
      throw new Error(`gradcheck: unsupported input data type ${dataType}`);
  }
}

export function tiFeeds(g: TrainingGraph, golden: SafetensorsFile): Record<string, TypedTensor> {
  const ids = tensor(golden, 'ti.input_ids');
  const latents = tensor(golden, 'ti.latents');
  const timesteps = tensor(golden, 'ti.timesteps');
  const row = toFloat32(tensor(golden, 'ti.initializer_row'));
  const feeds: Record<string, TypedTensor> = {
    [g.inputs.rows]: { dataType: DataType.FLOAT, dims: [1, row.length], data: row },
    [g.inputs.inputIds]: feedFor(g.inputDataTypes.inputIds, ids.shape, toBigInt64(ids)),
    [g.inputs.latents]: feedFor(g.inputDataTypes.latents, latents.shape, toFloat64(latents)),
    [g.inputs.noise]: feedFor(g.inputDataTypes.noise, latents.shape, toFloat64(tensor(golden, 'ti.noise'))),
    [g.inputs.timesteps]: feedFor(g.inputDataTypes.timesteps, timesteps.shape, toBigInt64(timesteps)),
  };
  if (g.trainableInitial) {
    feeds[g.trainable] = { dataType: DataType.FLOAT, dims: g.trainableDims, data: g.trainableInitial };
  }
  return feeds;
}

export async function timed(session: Session, feeds: Record<string, TypedTensor>, runs: number) {
  let last = await session.run(feeds);
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    last = await session.run(feeds);
    times.push(performance.now() - t0);
  }
  return { outputs: last, ms: median(times) };
}

export function floats(outputs: Record<string, TypedTensor>, name: string): ArrayLike<number> {
  const t = outputs[name];
  if (!t || !(t.data instanceof Float32Array || t.data instanceof Float64Array)) {
    throw new Error(`output '${name}' missing or not floating point`);
  }
  return t.data;
}
