// Makes an fp16 export compute in fp32 (onnxruntime's CPU lacks fp16 kernels for most ops, and the trainable rows,
// optimizer state and DVAR loss are fp32 anyway): each external fp16 weight is read through a Cast that onnxruntime
// folds once at session start (one fp32 copy, the fp16 file pages dropped); small ones and Gather-read tables
// convert inline.
import { readTensorBytes } from './external-data.ts';
import type { OnnxAttribute, OnnxGraph, OnnxModel, OnnxNode, OnnxTensor, ValueInfo } from './model.ts';
import { DataType, elementCount } from './model.ts';
import { fromHalf } from './tensor-values.ts';

const F16 = DataType.FLOAT16;
const F32 = DataType.FLOAT;
/** fp16 weights under this many bytes convert inline (biases, norms, conv_in: surgery finds them as initializers). */
const INLINE_BELOW = 2 ** 20;

/** An fp16 tensor's values as inline fp32 bytes. */
function toFloat32Tensor(t: OnnxTensor, modelDir: string): OnnxTensor {
  const half = readTensorBytes(t, modelDir);
  const bits = new Uint16Array(half.buffer.slice(half.byteOffset, half.byteOffset + half.byteLength));
  const out = new Float32Array(elementCount(t.dims));
  for (let i = 0; i < out.length; i++) out[i] = fromHalf(bits[i] ?? 0);
  return { ...t, dataType: F32, data: { kind: 'raw', bytes: new Uint8Array(out.buffer) } };
}

function upcastInfo(v: ValueInfo): ValueInfo {
  return v.dataType === F16 ? { ...v, dataType: F32 } : v;
}

function upcastAttribute(a: OnnxAttribute, modelDir: string): OnnxAttribute {
  if (a.type === 'tensor' && a.value.dataType === F16)
    return { type: 'tensor', value: toFloat32Tensor(a.value, modelDir) };
  if (a.type === 'graph') return { type: 'graph', value: upcastGraph(a.value, modelDir, new Set()) };
  return a;
}

function upcastNode(n: OnnxNode, modelDir: string): OnnxNode {
  const attributes: Record<string, OnnxAttribute> = {};
  for (const [k, a] of Object.entries(n.attributes)) {
    // Casts to fp16 become casts to fp32: the whole graph computes in fp32.
    attributes[k] =
      n.opType === 'Cast' && k === 'to' && a.type === 'int' && a.value === F16
        ? { type: 'int', value: F32 }
        : upcastAttribute(a, modelDir);
  }
  return { ...n, attributes };
}

function upcastGraph(g: OnnxGraph, modelDir: string, inlineNames: ReadonlySet<string>): OnnxGraph {
  const casts: OnnxNode[] = [];
  const initializers = g.initializers.map((t) => {
    if (t.dataType !== F16) return t;
    const small = elementCount(t.dims) * 2 < INLINE_BELOW;
    if (t.data.kind !== 'external' || small || inlineNames.has(t.name)) return toFloat32Tensor(t, modelDir);
    const stored = `${t.name}::fp16`;
    casts.push({
      name: `${t.name}/upcast`,
      opType: 'Cast',
      domain: '',
      inputs: [stored],
      outputs: [t.name],
      attributes: { to: { type: 'int', value: F32 } },
    });
    return { ...t, name: stored };
  });
  return {
    ...g,
    nodes: [...casts, ...g.nodes.map((n) => upcastNode(n, modelDir))],
    initializers,
    inputs: g.inputs.map(upcastInfo),
    outputs: g.outputs.map(upcastInfo),
    valueInfo: g.valueInfo.map(upcastInfo),
  };
}

/** Whether a model stores or computes anything in fp16. */
export function hasFp16(model: OnnxModel): boolean {
  const g = model.graph;
  return g.initializers.some((t) => t.dataType === F16) || g.inputs.some((v) => v.dataType === F16);
}

/**
 * The model computing in fp32. Tables read by Gather (token and position embeddings) become inline fp32 so
 * surgery can splice rows next to them; `modelDir` resolves their external data.
 */
export function upcastFp16(model: OnnxModel, modelDir: string): OnnxModel {
  if (!hasFp16(model)) return model;
  const gathered = new Set(
    model.graph.nodes.filter((n) => n.opType === 'Gather').map((n) => n.inputs[0] ?? ''),
  );
  return { ...model, graph: upcastGraph(model.graph, modelDir, gathered) };
}
