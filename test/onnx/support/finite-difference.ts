// Checks one gradient rule against central finite differences in onnxruntime-node: a one-node model built with
// GraphBuilder, loss = Σₖ ReduceSum(outputₖ ⊙ fixed random cotangentₖ), its gradient graph from buildGradientGraph
// (the real registry), and (L(x + h·eᵢ) − L(x − h·eᵢ)) / 2h for a sample of elements i of every checked input.
//
// float64 where onnxruntime's CPU kernels have it: h = 1e-6, so truncation (~h²) and rounding (~1e-16·|L|/h)
// both stay below 1e-9, and we demand 1e-6 of the largest gradient. Ops with float32-only CPU kernels (Conv,
// ConvTranspose, Erf, InstanceNormalization, Resize) run in float32 with the loss formed in float64 (outputs
// Cast to double before the cotangent product and sum): the noise in L is then only the op's own rounding,
// ~6e-8·√n·|y|, not an accumulated float32 sum. With h = 2⁻⁶ (exact in float32, and the actual step is read
// back from the perturbed float32 values) that noise over 2h is ~1e-5 and truncation ~h² ≈ 2.4e-4·|f'''|, so
// we demand 3e-3 of the largest gradient: loose enough for float32 noise, tight enough that a wrong factor,
// sign, axis or transpose (errors of order 1) fails.
import { buildGradientGraph } from '../../../trainer-image/src/autodiff/build-gradient-graph.ts';
import type { Attr } from '../../../trainer-image/src/autodiff/grad-rule.ts';
import type { GradRegistry } from '../../../trainer-image/src/autodiff/registry.ts';
import { encodeModel } from '../../../trainer-image/src/onnx/codec.ts';
import { GraphBuilder } from '../../../trainer-image/src/onnx/graph-builder.ts';
import { DataType, type OnnxModel } from '../../../trainer-image/src/onnx/model.ts';
import { Session, type TypedTensor } from '../../../trainer-image/src/runtime/session.ts';
import { mulberry32 as rng } from '../../support/mulberry32.ts';

/** One input of the node under test. */
export interface FdTensor {
  readonly dims: readonly number[];
  /** ONNX element type; defaults to the case's float type. */
  readonly dataType?: number;
  /** Row-major values; random in `range` when absent. */
  readonly values?: readonly number[];
  /** Range of random values (default [−1, 1]). */
  readonly range?: readonly [number, number];
  /** An initializer (its value visible to the rule as a constant); never checked. */
  readonly constant?: boolean;
  /** A graph input declared with symbolic dims, so rules take their run-time paths. */
  readonly symbolic?: boolean;
  /** Whether to check this input's gradient (default: floating, non-constant inputs). */
  readonly check?: boolean;
}

export interface FdCase {
  readonly opType: string;
  /** Node inputs in order; null for an absent optional input. */
  readonly inputs: readonly (FdTensor | null)[];
  readonly attrs?: Readonly<Record<string, Attr>>;
  /** Number of node outputs (default 1). */
  readonly outputs?: number;
  /** Outputs that enter the loss (default all). */
  readonly lossOutputs?: readonly number[];
  readonly opset?: number;
  readonly dtype?: 'float64' | 'float32';
  /** Step and tolerance to use (default: those of dtype); float32 for double inputs that pass through float32. */
  readonly precision?: 'float64' | 'float32';
  readonly seed?: number;
  /** Elements probed per checked input (default 48; all when there are fewer). */
  readonly maxProbes?: number;
  /**
   * A subgraph instead of the single node (decomposed LayerNorm, GELU, attention…): adds nodes reading the input
   * names (x0, x1, …; '' for absent ones) and writing y0 … y(outputs−1). opType then only names the case.
   */
  readonly subgraph?: (b: GraphBuilder, inputs: readonly string[]) => void;
  /** The registry to differentiate with (default: every rule in rules/index.ts). */
  readonly registry?: GradRegistry;
}

export interface FdInputReport {
  readonly name: string;
  /** Largest |analytic − finite difference| over the probed elements. */
  readonly maxAbsError: number;
  /** Largest |finite difference| over the probed elements (the scale of the tolerance). */
  readonly maxAbsGrad: number;
  readonly probes: number;
}

export interface FdReport {
  readonly inputs: readonly FdInputReport[];
  /** Relative tolerance applied to max(maxAbsGrad, 1e-3) of each input. */
  readonly tolerance: number;
  /** Whether every input is within tolerance. */
  readonly ok: boolean;
  /** Node count of the gradient graph (to catch rules that emit far more than they should). */
  readonly gradNodes: number;
}

const FLOAT_TYPES = new Set<number>([DataType.FLOAT, DataType.DOUBLE]);

const count = (dims: readonly number[]): number => dims.reduce((a, b) => a * b, 1);

function typed(dataType: number, values: readonly number[]): TypedTensor['data'] {
  switch (dataType) {
    case DataType.FLOAT:
      return Float32Array.from(values);
    case DataType.DOUBLE:
      return Float64Array.from(values);
    case DataType.INT64:
      return BigInt64Array.from(values.map((v) => BigInt(Math.trunc(v))));
    case DataType.INT32:
      return Int32Array.from(values);
    case DataType.BOOL:
      return Uint8Array.from(values);
    default:
      throw new Error(`finite-difference: unsupported input data type ${dataType}`);
  }
}

interface Prepared {
  readonly name: string;
  readonly spec: FdTensor;
  readonly dataType: number;
  readonly values: number[];
}

function prepare(c: FdCase, floatType: number, random: () => number): (Prepared | null)[] {
  return c.inputs.map((spec, k) => {
    if (spec === null) return null;
    const dataType = spec.dataType ?? floatType;
    const [lo, hi] = spec.range ?? [-1, 1];
    const values = spec.values
      ? [...spec.values]
      : Array.from({ length: count(spec.dims) }, () => lo + (hi - lo) * random());
    if (values.length !== count(spec.dims))
      throw new Error(`finite-difference: input ${k} has the wrong value count`);
    // Round float32 inputs now, so the base point is exactly what onnxruntime sees.
    const rounded = dataType === DataType.FLOAT ? Array.from(Float32Array.from(values)) : values;
    return { name: `x${k}`, spec, dataType, values: rounded };
  });
}

function declareInputs(b: GraphBuilder, inputs: readonly (Prepared | null)[]): void {
  for (const p of inputs) {
    if (p === null) continue;
    if (p.spec.constant)
      b.initializer(p.name, { dataType: p.dataType, dims: [...p.spec.dims], values: p.values });
    else {
      const dims = p.spec.symbolic ? p.spec.dims.map((_, i) => `${p.name}_d${i}`) : [...p.spec.dims];
      b.input(p.name, p.dataType, dims);
    }
  }
}

function feedsOf(inputs: readonly (Prepared | null)[], override?: { name: string; values: number[] }) {
  const feeds: Record<string, TypedTensor> = {};
  for (const p of inputs) {
    if (p === null || p.spec.constant) continue;
    const values = override?.name === p.name ? override.values : p.values;
    feeds[p.name] = { dataType: p.dataType, dims: p.spec.dims, data: typed(p.dataType, values) };
  }
  return feeds;
}

const nodeInputs = (inputs: readonly (Prepared | null)[]): string[] =>
  inputs.map((p) => (p === null ? '' : p.name));

function addNodes(
  b: GraphBuilder,
  c: FdCase,
  inputs: readonly (Prepared | null)[],
  outs: readonly string[],
): void {
  if (c.subgraph) c.subgraph(b, nodeInputs(inputs));
  else b.node(c.opType, nodeInputs(inputs), outs, c.attrs, { name: 'under_test' });
}

async function outputDims(
  c: FdCase,
  inputs: readonly (Prepared | null)[],
  opset: number,
): Promise<number[][]> {
  const n = c.outputs ?? 1;
  const outs = Array.from({ length: n }, (_, k) => `y${k}`);
  const b = new GraphBuilder('forward');
  declareInputs(b, inputs);
  addNodes(b, c, inputs, outs);
  // Cast to double so every output has a declared type whatever the op yields.
  for (const o of outs) {
    b.node('Cast', [o], [`${o}_f64`], { to: { type: 'int', value: DataType.DOUBLE } });
    b.output(`${o}_f64`, DataType.DOUBLE, undefined);
  }
  const session = await Session.create(encodeModel(b.build(opset)));
  try {
    const result = await session.run(feedsOf(inputs));
    return outs.map((o) => [...(result[`${o}_f64`]?.dims ?? [])]);
  } finally {
    await session.release();
  }
}

function lossModel(
  c: FdCase,
  inputs: readonly (Prepared | null)[],
  dims: readonly number[][],
  opset: number,
  random: () => number,
): OnnxModel {
  const n = c.outputs ?? 1;
  const outs = Array.from({ length: n }, (_, k) => `y${k}`);
  const b = new GraphBuilder('fd');
  declareInputs(b, inputs);
  addNodes(b, c, inputs, outs);
  const terms: string[] = [];
  for (const k of c.lossOutputs ?? outs.map((_, i) => i)) {
    const d = dims[k] ?? [];
    const ct = Array.from({ length: count(d) }, () => 2 * random() - 1);
    b.initializer(`ct${k}`, { dataType: DataType.DOUBLE, dims: d, values: ct });
    b.node('Cast', [`y${k}`], [`y${k}_f64`], { to: { type: 'int', value: DataType.DOUBLE } });
    b.node('Mul', [`y${k}_f64`, `ct${k}`], [`p${k}`]);
    b.node('ReduceSum', [`p${k}`], [`s${k}`], { keepdims: { type: 'int', value: 0 } });
    terms.push(`s${k}`);
  }
  let loss = terms[0] ?? '';
  terms.slice(1).forEach((t, i) => {
    const next = `acc${i}`;
    b.node('Add', [loss, t], [next]);
    loss = next;
  });
  b.node('Identity', [loss], ['loss']);
  b.output('loss', DataType.DOUBLE, []);
  return b.build(opset);
}

/** Runs the check; see the file header for the step and tolerance per float type. */
export async function checkGradient(c: FdCase): Promise<FdReport> {
  const dtype = c.dtype ?? 'float64';
  const floatType = dtype === 'float64' ? DataType.DOUBLE : DataType.FLOAT;
  const opset = c.opset ?? 17;
  const random = rng(c.seed ?? 7);
  const inputs = prepare(c, floatType, random);
  const checked = inputs.filter(
    (p): p is Prepared => p !== null && !p.spec.constant && (p.spec.check ?? FLOAT_TYPES.has(p.dataType)),
  );
  const dims = await outputDims(c, inputs, opset);
  const model = lossModel(c, inputs, dims, opset, random);
  const { model: gradModel, gradients } = buildGradientGraph(model, {
    loss: 'loss',
    wrt: checked.map((p) => p.name),
    ...(c.registry ? { registry: c.registry } : {}),
  });
  const lossSession = await Session.create(encodeModel(model));
  const gradSession = await Session.create(encodeModel(gradModel));
  const precision = c.precision ?? dtype;
  const h = precision === 'float64' ? 1e-6 : 2 ** -6;
  const tolerance = precision === 'float64' ? 1e-6 : 3e-3;
  const reports: FdInputReport[] = [];
  try {
    const analytic = await gradSession.run(feedsOf(inputs));
    const lossAt = async (name: string, values: number[]): Promise<number> => {
      const out = await lossSession.run(feedsOf(inputs, { name, values }), ['loss']);
      return Number(out.loss?.data[0]);
    };
    for (const p of checked) {
      const grad = analytic[gradients[p.name] ?? ''];
      if (grad === undefined) throw new Error(`finite-difference: no gradient output for ${p.name}`);
      if (grad.dims.join(',') !== p.spec.dims.join(',')) {
        throw new Error(
          `finite-difference: gradient of ${p.name} has dims [${grad.dims}], not [${p.spec.dims}]`,
        );
      }
      const total = p.values.length;
      const maxProbes = c.maxProbes ?? 48;
      const probes =
        total <= maxProbes
          ? Array.from({ length: total }, (_, i) => i)
          : Array.from({ length: maxProbes }, () => Math.floor(random() * total));
      let maxAbsError = 0;
      let maxAbsGrad = 0;
      for (const i of probes) {
        const plus = [...p.values];
        const minus = [...p.values];
        plus[i] = (p.values[i] ?? 0) + h;
        minus[i] = (p.values[i] ?? 0) - h;
        const step =
          p.dataType === DataType.FLOAT
            ? Math.fround(plus[i] ?? 0) - Math.fround(minus[i] ?? 0)
            : (plus[i] ?? 0) - (minus[i] ?? 0);
        const fd = ((await lossAt(p.name, plus)) - (await lossAt(p.name, minus))) / step;
        const an = Number(grad.data[i]);
        maxAbsError = Math.max(maxAbsError, Math.abs(an - fd));
        maxAbsGrad = Math.max(maxAbsGrad, Math.abs(fd));
      }
      reports.push({ name: p.name, maxAbsError, maxAbsGrad, probes: probes.length });
    }
  } finally {
    await lossSession.release();
    await gradSession.release();
  }
  const ok = reports.every((r) => r.maxAbsError <= tolerance * Math.max(r.maxAbsGrad, 1e-3));
  return { inputs: reports, tolerance, ok, gradNodes: gradModel.graph.nodes.length };
}

/** Jest helper: runs the check and fails with the per-input report when it does not hold. */
export async function expectGradientsMatch(c: FdCase): Promise<FdReport> {
  const report = await checkGradient(c);
  if (!report.ok || report.inputs.length === 0) {
    throw new Error(`gradient check failed for ${c.opType}: ${JSON.stringify(report)}`);
  }
  return report;
}
