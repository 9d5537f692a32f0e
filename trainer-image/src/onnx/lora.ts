// LoRA by graph surgery: beside each projection y = x·Wᵀ (+ b) add scale·(x·Aᵀ)·Bᵀ with A [r, in] and B [out, r] as
// FLOAT graph inputs (PyTorch layout), so y' = x·(W + scale·B·A)ᵀ (+ b). The base weight is read as before and
// never copied; in an fp16 graph A and B are Cast to the activations' type, the trainable tensors stay fp32.
import type { Projection } from './attention-projections.ts';
import { DataType, type OnnxGraph, type OnnxNode, type OnnxTensor, type ValueInfo } from './model.ts';
import { encodeValues } from './tensor-values.ts';

export interface LoraNames {
  readonly a: string;
  readonly b: string;
}

export interface LoraOptions {
  readonly rank: number;
  /** alpha / rank in kohya's terms (1 for the paper: alpha = rank). */
  readonly scale: number;
  /** Input names per module; default `lora.A.<module>` / `lora.B.<module>`. */
  readonly names?: (module: string) => LoraNames;
}

export interface LoraAdapter extends LoraNames {
  readonly module: string;
  readonly inFeatures: number;
  readonly outFeatures: number;
}

export interface LoraGraph {
  readonly graph: OnnxGraph;
  /** A [rank, in] and B [out, rank] FLOAT per projection, in the projections' order (A before B). */
  readonly inputs: ValueInfo[];
  readonly adapters: LoraAdapter[];
}

export function loraInputNames(module: string): LoraNames {
  return { a: `lora.A.${module}`, b: `lora.B.${module}` };
}

function node(name: string, opType: string, inputs: string[], output: string, perm?: number[]): OnnxNode {
  return {
    name,
    opType,
    domain: '',
    inputs,
    outputs: [output],
    attributes: perm ? { perm: { type: 'ints', value: perm } } : {},
  };
}

function castNode(name: string, input: string, output: string, to: number): OnnxNode {
  return {
    name,
    opType: 'Cast',
    domain: '',
    inputs: [input],
    outputs: [output],
    attributes: { to: { type: 'int', value: to } },
  };
}

/** The adapter's nodes; `base` is the projection's output renamed, `out` its original name. */
function adapterNodes(
  p: Projection,
  names: LoraNames,
  scale: number,
  base: string,
  initializers: OnnxTensor[],
): OnnxNode[] {
  const at = `${p.node}/lora`;
  const nodes: OnnxNode[] = [];
  // fp16 (or bf16) activations: the fp32 trainables are cast once, each small ([r, in], [out, r]).
  const typed = (input: string, label: string): string => {
    if (p.dataType === DataType.FLOAT) return input;
    nodes.push(castNode(`${at}/${label}_cast`, input, `${at}/${label}_cast_output`, p.dataType));
    return `${at}/${label}_cast_output`;
  };
  const a = typed(names.a, 'A');
  const b = typed(names.b, 'B');
  nodes.push(node(`${at}/A_transpose`, 'Transpose', [a], `${at}/A_transpose_output`, [1, 0]));
  nodes.push(node(`${at}/down`, 'MatMul', [p.input, `${at}/A_transpose_output`], `${at}/down_output`));
  let down = `${at}/down_output`;
  if (scale !== 1) {
    // Scaling the rank-r activations is the cheapest place: r columns instead of out.
    const scaleName = `${at}/scale`;
    initializers.push({
      name: scaleName,
      dataType: p.dataType,
      dims: [],
      data: { kind: 'raw', bytes: encodeValues(p.dataType, [scale]) },
    });
    nodes.push(node(`${at}/scaled`, 'Mul', [down, scaleName], `${at}/scaled_output`));
    down = `${at}/scaled_output`;
  }
  nodes.push(node(`${at}/B_transpose`, 'Transpose', [b], `${at}/B_transpose_output`, [1, 0]));
  nodes.push(node(`${at}/up`, 'MatMul', [down, `${at}/B_transpose_output`], `${at}/up_output`));
  nodes.push(node(`${at}/add`, 'Add', [base, `${at}/up_output`], p.output));
  return nodes;
}

/**
 * Adds a LoRA adapter beside every given projection. The projection node's output is renamed and an Add rebuilds
 * the original tensor, so every consumer (the bias Add of TorchScript and dynamo exports, attention's reshapes)
 * sees y + ΔY unchanged in name, dtype and shape; a Gemm's bias is inside y already.
 */
export function addLoraAdapters(
  unet: OnnxGraph,
  projections: readonly Projection[],
  options: LoraOptions,
): LoraGraph {
  const { rank, scale } = options;
  if (!Number.isInteger(rank) || rank < 1)
    throw new Error(`LoRA rank must be a positive integer (got ${rank})`);
  if (!Number.isFinite(scale)) throw new Error(`LoRA scale must be finite (got ${scale})`);
  const nameOf = options.names ?? loraInputNames;
  const byNode = new Map<string, Projection>();
  for (const p of projections) {
    if (byNode.has(p.node)) throw new Error(`projection node '${p.node}' listed twice`);
    byNode.set(p.node, p);
  }
  const initializers: OnnxTensor[] = [];
  const adapters: LoraAdapter[] = [];
  const nodes: OnnxNode[] = [];
  for (const n of unet.nodes) {
    const p = byNode.get(n.name);
    if (!p) {
      nodes.push(n);
      continue;
    }
    byNode.delete(n.name);
    if (n.outputs[0] !== p.output || n.inputs[0] !== p.input) {
      throw new Error(
        `projection '${p.module}': node '${n.name}' no longer reads '${p.input}' → '${p.output}'`,
      );
    }
    const names = nameOf(p.module);
    const base = `${p.node}/lora/base_output`;
    nodes.push({ ...n, outputs: [base, ...n.outputs.slice(1)] });
    nodes.push(...adapterNodes(p, names, scale, base, initializers));
    adapters.push({
      module: p.module,
      a: names.a,
      b: names.b,
      inFeatures: p.inFeatures,
      outFeatures: p.outFeatures,
    });
  }
  const missing = [...byNode.keys()];
  if (missing.length > 0) throw new Error(`projection nodes not in the graph: ${missing.join(', ')}`);
  const order = new Map(projections.map((p, i) => [p.module, i]));
  adapters.sort((x, y) => (order.get(x.module) ?? 0) - (order.get(y.module) ?? 0));
  const inputs: ValueInfo[] = adapters.flatMap((a) => [
    { name: a.a, dataType: DataType.FLOAT, dims: [rank, a.inFeatures] },
    { name: a.b, dataType: DataType.FLOAT, dims: [a.outFeatures, rank] },
  ]);
  const taken = new Set(unet.inputs.map((v) => v.name));
  for (const v of inputs) if (taken.has(v.name)) throw new Error(`graph already has an input '${v.name}'`);
  return {
    graph: {
      ...unet,
      nodes,
      initializers: [...unet.initializers, ...initializers],
      inputs: [...unet.inputs, ...inputs],
    },
    inputs,
    adapters,
  };
}
