// The golden fixture inputs of a textual-inversion graph as typed feeds (shared by the gradcheck benches), in the
// dtypes the graph declares for them.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readSafetensors, toBigInt64, toFloat32 } from '../../shared/safetensors.ts';
import { DataType } from '../../trainer-image/src/onnx/model.ts';
import type { TypedTensor } from '../../trainer-image/src/runtime/session.ts';
import type { TrainingGraph } from '../../trainer-image/src/train/training-graph.ts';

/** The batch of the fixture's golden inputs. */
export function goldenBatch(pipelineDir: string): number {
  const golden = readSafetensors(readFileSync(join(pipelineDir, 'golden.safetensors')));
  return golden.tensors.get('ti.input_ids')?.shape[0] ?? 1;
}

export function goldenFeeds(pipelineDir: string, graph: TrainingGraph): Record<string, TypedTensor> {
  const golden = readSafetensors(readFileSync(join(pipelineDir, 'golden.safetensors')));
  const get = (key: string) => {
    const t = golden.tensors.get(key);
    if (!t) throw new Error(`golden.safetensors has no '${key}'`);
    return t;
  };
  const floatFeed = (key: string, dataType: number): TypedTensor => {
    const t = get(key);
    if (dataType === DataType.FLOAT) return { dataType, dims: t.shape, data: toFloat32(t) };
    throw new Error(`bench: unsupported ${key} type ${dataType}`);
  };
  const intFeed = (key: string, dataType: number): TypedTensor => {
    const t = get(key);
    const values = toBigInt64(t);
    if (dataType === DataType.INT64) return { dataType, dims: t.shape, data: values };
    if (dataType === DataType.INT32)
      return { dataType, dims: t.shape, data: Int32Array.from(values, Number) };
    if (dataType === DataType.FLOAT)
      return { dataType, dims: t.shape, data: Float32Array.from(values, Number) };
    throw new Error(`bench: unsupported ${key} type ${dataType}`);
  };
  const row = toFloat32(get('ti.initializer_row'));
  return {
    [graph.inputs.rows]: { dataType: DataType.FLOAT, dims: [1, row.length], data: row },
    [graph.inputs.inputIds]: intFeed('ti.input_ids', graph.inputDataTypes.inputIds),
    [graph.inputs.latents]: floatFeed('ti.latents', graph.inputDataTypes.latents),
    [graph.inputs.noise]: floatFeed('ti.noise', graph.inputDataTypes.noise),
    [graph.inputs.timesteps]: intFeed('ti.timesteps', graph.inputDataTypes.timesteps),
  };
}
