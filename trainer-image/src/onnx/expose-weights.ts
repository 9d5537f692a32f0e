// Custom Diffusion's surgery: projection weights become FLOAT graph inputs in PyTorch's [out, in] layout (the layout
// of the trainable tensor, the output file and the goldens), turned into the export's stored form in-graph
// (Transpose, and Cast for fp16 graphs). Optionally the first token positions are detached (see `detach`).
import type { Projection, WeightLayout } from './attention-projections.ts';
import { DataType, type OnnxGraph, type OnnxNode, type OnnxTensor, type ValueInfo } from './model.ts';
import { encodeValues } from './tensor-values.ts';

export interface ExposeWeightsOptions {
  /** Trainable input name per module; default `kv.<module>`. */
  readonly names?: (module: string) => string;
  /**
   * Custom Diffusion's "no gradient through K and V at token position 0": the outputs' first `positions` rows on
   * the token axis (axis −2 of x, e.g. [B, 77, D] encoder states) keep their values but pass no gradient. They are
   * computed from a twin input (`detachedNames`, default `detached.<name>`) that the caller feeds with the same
   * values and never lists as a trainable (wrt) tensor: to the autodiff it is a constant, so the weight's gradient
   * is xᵀ·dY over the other rows only. MatMul projections only (a Gemm has lost the token axis).
   */
  readonly detach?: {
    readonly positions: number;
    readonly detachedNames?: (input: string) => string;
  };
}

export interface ExposedWeight {
  readonly module: string;
  /** The trainable FLOAT [out, in] input. */
  readonly input: string;
  readonly dims: readonly [number, number];
  /** The frozen twin to feed with the same values (only with `detach`). */
  readonly detachedInput: string | undefined;
  /** Where the initial value lives (inline or external data) and how it is stored; weight-values.ts reads it. */
  readonly initializer: OnnxTensor;
  readonly layout: WeightLayout;
}

export interface ExposedWeights {
  readonly graph: OnnxGraph;
  /** The trainable inputs, FLOAT [out, in], in the projections' order. */
  readonly inputs: ValueInfo[];
  /** The detach twins (empty without `detach`): feed each with its trainable's values; never differentiate. */
  readonly constantInputs: ValueInfo[];
  readonly weights: ExposedWeight[];
}

export function kvInputName(module: string): string {
  return `kv.${module}`;
}

const INT64_MAX = 9223372036854775807n;

function simple(
  name: string,
  opType: string,
  inputs: string[],
  output: string,
  attributes: OnnxNode['attributes'] = {},
): OnnxNode {
  return { name, opType, domain: '', inputs, outputs: [output], attributes };
}

function int64Tensor(name: string, values: readonly bigint[]): OnnxTensor {
  return {
    name,
    dataType: DataType.INT64,
    dims: [values.length],
    data: { kind: 'raw', bytes: encodeValues(DataType.INT64, values) },
  };
}

/** An [out, in] FLOAT input as the matrix a MatMul multiplies by ([in, out], the graph's dtype). */
function matmulOperand(p: Projection, input: string, label: string, nodes: OnnxNode[]): string {
  const at = `${p.node}/kv/${label}`;
  nodes.push(
    simple(`${at}_transpose`, 'Transpose', [input], `${at}_transpose_output`, {
      perm: { type: 'ints', value: [1, 0] },
    }),
  );
  return castTo(p, `${at}_transpose_output`, `${at}_cast`, nodes);
}

function castTo(p: Projection, input: string, name: string, nodes: OnnxNode[]): string {
  if (p.dataType === DataType.FLOAT) return input;
  nodes.push(simple(name, 'Cast', [input], `${name}_output`, { to: { type: 'int', value: p.dataType } }));
  return `${name}_output`;
}

/**
 * What replaces the initializer in its reader: Wᵀ for a MatMul or a Gemm without transB, W itself where the
 * export already transposes in-graph (a Transpose node or Gemm transB = 1).
 */
function storedForm(p: Projection, input: string, nodes: OnnxNode[]): string {
  if (p.weightLayout === 'in-out') return matmulOperand(p, input, 'weight', nodes);
  return castTo(p, input, `${p.node}/kv/weight_cast`, nodes);
}

/** The detach rows: Y' = Concat(x[…, :P, :]·W_cᵀ, Y[…, P:, :]) on the token axis, W_c the frozen twin. */
function detachNodes(
  p: Projection,
  twin: string,
  full: string,
  constants: { zero: string; positions: string; end: string; axis: string },
): OnnxNode[] {
  const at = `${p.node}/kv/detach`;
  const nodes: OnnxNode[] = [];
  const operand = matmulOperand(p, twin, 'detached_weight', nodes);
  nodes.push(
    simple(
      `${at}/head_input`,
      'Slice',
      [p.input, constants.zero, constants.positions, constants.axis],
      `${at}/head_input_output`,
    ),
    simple(`${at}/head`, 'MatMul', [`${at}/head_input_output`, operand], `${at}/head_output`),
    simple(
      `${at}/tail`,
      'Slice',
      [full, constants.positions, constants.end, constants.axis],
      `${at}/tail_output`,
    ),
    simple(`${at}/concat`, 'Concat', [`${at}/head_output`, `${at}/tail_output`], p.output, {
      axis: { type: 'int', value: -2 },
    }),
  );
  return nodes;
}

/** Replaces each projection's weight initializer with a FLOAT [out, in] graph input (and its detach twin). */
export function exposeWeights(
  unet: OnnxGraph,
  projections: readonly Projection[],
  options: ExposeWeightsOptions = {},
): ExposedWeights {
  const nameOf = options.names ?? kvInputName;
  const detach = options.detach;
  if (detach && (!Number.isInteger(detach.positions) || detach.positions < 1)) {
    throw new Error(`detach positions must be a positive integer (got ${detach.positions})`);
  }
  const twinOf = detach?.detachedNames ?? ((input: string) => `detached.${input}`);
  const inits = new Map(unet.initializers.map((t) => [t.name, t]));
  const readers = new Map<string, Projection>();
  const outputs = new Map<string, Projection>();
  const weights: ExposedWeight[] = [];
  for (const p of projections) {
    const initializer = inits.get(p.weight);
    if (!initializer) throw new Error(`projection '${p.module}': initializer '${p.weight}' not in the graph`);
    if (readers.has(p.weightReader)) throw new Error(`projection node '${p.node}' listed twice`);
    if (detach && p.opType !== 'MatMul') {
      throw new Error(
        `projection '${p.module}' is a ${p.opType}: detach needs a MatMul that keeps the token axis`,
      );
    }
    readers.set(p.weightReader, p);
    if (detach) outputs.set(p.node, p);
    const input = nameOf(p.module);
    weights.push({
      module: p.module,
      input,
      dims: [p.outFeatures, p.inFeatures],
      detachedInput: detach ? twinOf(input) : undefined,
      initializer,
      layout: p.weightLayout,
    });
  }
  const byModule = new Map(weights.map((w) => [w.module, w]));
  const constants = {
    zero: 'kv/detach/zero',
    positions: 'kv/detach/positions',
    end: 'kv/detach/end',
    axis: 'kv/detach/axis',
  };
  const added: OnnxTensor[] = detach
    ? [
        int64Tensor(constants.zero, [0n]),
        int64Tensor(constants.positions, [BigInt(detach.positions)]),
        int64Tensor(constants.end, [INT64_MAX]),
        int64Tensor(constants.axis, [-2n]),
      ]
    : [];
  const nodes: OnnxNode[] = [];
  for (const n of unet.nodes) {
    let current = n;
    const reader = readers.get(n.name);
    if (reader) {
      const w = byModule.get(reader.module);
      const slot = n.inputs.indexOf(reader.weight);
      if (!w || slot < 0) throw new Error(`node '${n.name}' no longer reads '${reader.weight}'`);
      const stored = storedForm(reader, w.input, nodes);
      current = { ...n, inputs: n.inputs.map((x, i) => (i === slot ? stored : x)) };
    }
    const detached = outputs.get(n.name);
    const w = detached ? byModule.get(detached.module) : undefined;
    if (!detached || !w?.detachedInput) {
      nodes.push(current);
      continue;
    }
    const full = `${detached.node}/kv/full_output`;
    nodes.push({ ...current, outputs: [full, ...current.outputs.slice(1)] });
    nodes.push(...detachNodes(detached, w.detachedInput, full, constants));
  }
  // Initializers no node reads any more are dropped (their values are where `weights` says, for the caller).
  const read = new Set(nodes.flatMap((n) => n.inputs));
  const exposed = new Set(weights.map((w) => w.initializer.name));
  const info = (name: string, w: ExposedWeight): ValueInfo => ({
    name,
    dataType: DataType.FLOAT,
    dims: [...w.dims],
  });
  const inputs = weights.map((w) => info(w.input, w));
  const constantInputs = weights.flatMap((w) => (w.detachedInput ? [info(w.detachedInput, w)] : []));
  const taken = new Set(unet.inputs.map((v) => v.name));
  for (const v of [...inputs, ...constantInputs]) {
    if (taken.has(v.name)) throw new Error(`graph already has an input '${v.name}'`);
  }
  return {
    graph: {
      ...unet,
      nodes,
      initializers: [...unet.initializers.filter((t) => !exposed.has(t.name) || read.has(t.name)), ...added],
      inputs: [...unet.inputs, ...inputs, ...constantInputs],
    },
    inputs,
    constantInputs,
    weights,
  };
}
