// Small emitters the rules share: opset-aware ReduceSum/ReduceMean/Squeeze/Unsqueeze, transposes of the last two
// axes, and the output gradient a single-output rule requires. Kept here so each rule file stays one derivative.
import type { Attr, GradContext } from '../grad-rule.ts';
import { attr } from '../grad-rule.ts';

/** The gradient of output k; a rule for an op whose output gets no gradient is never asked to run. */
export function requireGo(g: GradContext, k = 0): string {
  const go = g.go(k);
  if (go === undefined) {
    throw new Error(`${g.opType} node '${g.nodeName}': no gradient reaches output ${k}`);
  }
  return go;
}

/** Normalizes a possibly negative axis against a rank. */
export function normAxis(axis: number, rank: number): number {
  return axis < 0 ? axis + rank : axis;
}

/** ReduceSum over `axes` (axes as an input from opset 13, as an attribute before). */
export function reduceSum(
  g: GradContext,
  x: string,
  axes: readonly number[],
  keepdims: boolean,
  out?: string,
): string {
  const kd = { keepdims: attr.int(keepdims ? 1 : 0) };
  const outputs = out === undefined ? undefined : [out];
  if (g.opset >= 13) return g.emit('ReduceSum', [x, g.int64s(axes)], kd, outputs);
  return g.emit('ReduceSum', [x], { ...kd, axes: attr.ints(axes) }, outputs);
}

/** Unsqueeze at `axes` (an input from opset 13, an attribute before). */
export function unsqueeze(g: GradContext, x: string, axes: readonly number[]): string {
  if (g.opset >= 13) return g.emit('Unsqueeze', [x, g.int64s(axes)]);
  return g.emit('Unsqueeze', [x], { axes: attr.ints(axes) });
}

/** Squeeze at `axes` (an input from opset 13, an attribute before). */
export function squeeze(g: GradContext, x: string, axes: readonly number[]): string {
  if (g.opset >= 13) return g.emit('Squeeze', [x, g.int64s(axes)]);
  return g.emit('Squeeze', [x], { axes: attr.ints(axes) });
}

/** Swaps the last two axes of a tensor of rank `rank` (≥ 2). */
export function transposeLast2(g: GradContext, x: string, rank: number): string {
  const perm = Array.from({ length: rank }, (_, i) => i);
  perm[rank - 2] = rank - 1;
  perm[rank - 1] = rank - 2;
  return g.emit('Transpose', [x], { perm: attr.ints(perm) });
}

/** The dims of `t` when all are known numbers; undefined when any is symbolic or even the rank is unknown. */
export function staticDims(g: GradContext, t: string): number[] | undefined {
  let dims: readonly (number | string | undefined)[];
  try {
    dims = g.dims(t);
  } catch {
    // The builder throws on an unknown rank; this caller can do without static dims.
    return undefined;
  }
  return dims.every((d) => typeof d === 'number') ? (dims as number[]) : undefined;
}

/**
 * Reshape `x` to the shape of `like`. Static dims make a constant shape (allowzero from opset 14 so empty dims
 * stay empty). With symbolic dims the shape is still a constant where it can be: a symbolic dim that `x` has at
 * the same position is copied with 0, and one other unknown dim is inferred with −1 (a gradient of an empty
 * batch is the one case that cannot take −1; a training batch is never empty). Else the shape is read at run
 * time with Shape.
 */
export function reshapeLike(g: GradContext, x: string, like: string, out?: string): string {
  const outputs = out === undefined ? undefined : [out];
  const dims = staticDims(g, like);
  if (dims !== undefined) {
    const attrs: Record<string, Attr> = g.opset >= 14 ? { allowzero: attr.int(1) } : {};
    return g.emit('Reshape', [x, g.int64s(dims)], attrs, outputs);
  }
  const target = constantShape(g, x, like);
  if (target !== undefined) return g.emit('Reshape', [x, g.int64s(target)], {}, outputs);
  const attrs: Record<string, Attr> = g.opset >= 14 ? { allowzero: attr.int(1) } : {};
  return g.emit('Reshape', [x, g.emit('Shape', [like])], attrs, outputs);
}

/** Reshape's target for `like` as constants (0 = copy x's dim, −1 = inferred), or undefined when it needs Shape. */
function constantShape(g: GradContext, x: string, like: string): number[] | undefined {
  let likeDims: readonly (number | string | undefined)[];
  let xDims: readonly (number | string | undefined)[];
  try {
    likeDims = g.dims(like);
    xDims = g.dims(x);
  } catch {
    return undefined;
  }
  let inferred = 0;
  const target: number[] = [];
  for (const [i, d] of likeDims.entries()) {
    // A literal 0 would mean "copy" without allowzero, which the copies below need off.
    if (d === 0) return undefined;
    if (typeof d === 'number') target.push(d);
    else if (d !== undefined && xDims[i] === d) target.push(0);
    else {
      inferred++;
      target.push(-1);
    }
  }
  return inferred <= 1 ? target : undefined;
}

/** Zeros of the runtime shape of `like` with element type `dataType`. */
export function zerosLike(g: GradContext, like: string, dataType: number): string {
  const value = attr.tensor({ dataType, dims: [1], values: [0] });
  return g.emit('ConstantOfShape', [g.emit('Shape', [like])], { value });
}

const FLOAT_TYPES = new Set([1, 10, 11, 16]);

/** Whether an ONNX element type is floating (float, float16, double, bfloat16). */
export function isFloatType(dataType: number): boolean {
  return FLOAT_TYPES.has(dataType);
}

/** The gradient of Cast/CastLike input 0: dy cast back to x's type, or zeros when y is not floating. */
export function castGradient(g: GradContext): void {
  const x = g.i(0);
  const go = g.go(0);
  if (go === undefined || !isFloatType(g.dataType(g.o(0)))) {
    g.bind(zerosLike(g, x, g.dataType(x)), g.gi(0));
    return;
  }
  g.emit('Cast', [go], { to: attr.int(g.dataType(x)) }, [g.gi(0)]);
}

/** Reads a constant INT64 (or any integer) 1-D input as plain numbers, or undefined when it is not constant. */
export function constInts(g: GradContext, name: string): number[] | undefined {
  if (name === '') return undefined;
  const c = g.constValue(name);
  if (c === undefined) return undefined;
  return Array.from(c.values as ArrayLike<number | bigint>, (v) => Number(v));
}

/**
 * The gradient of a reduction's input before scaling: dy with the reduced axes restored (when keepdims was 0)
 * and broadcast back to x's shape. Axes come from the attribute (`axesInput` false) or input 1; no axes means
 * all axes, unless noop_with_empty_axes makes the op an identity. `scale` (optional) multiplies dy first.
 */
export function expandReduced(
  g: GradContext,
  axesInput: boolean,
  out: string,
  scale?: (dy: string) => string,
): void {
  const x = g.i(0);
  const dy0 = requireGo(g);
  const dy = scale === undefined ? dy0 : scale(dy0);
  const keepdims = g.attrInt('keepdims', 1) !== 0;
  const axesName = axesInput && g.inputCount > 1 ? g.i(1) : '';
  const hasAxes = axesInput ? axesName !== '' : g.hasAttr('axes');
  if (!hasAxes && g.attrInt('noop_with_empty_axes', 0) !== 0) {
    g.bind(dy, out);
    return;
  }
  let restored = dy;
  if (!keepdims && hasAxes) {
    // Unsqueeze interprets negative axes against its output rank, which is x's rank: the same axes as the op.
    if (axesInput) restored = g.emit('Unsqueeze', [dy, axesName]);
    else {
      const rank = g.rank(x);
      const axes = g
        .attrInts('axes')
        .map((a) => normAxis(a, rank))
        .sort((p, q) => p - q);
      restored = unsqueeze(g, dy, axes);
    }
  }
  // Without axes and keepdims 0, dy is a scalar and broadcasts as it is.
  g.emit('Expand', [restored, g.emit('Shape', [x])], {}, [out]);
}

/** ReduceMean over `axes` (axes as an input from opset 18, as an attribute before). */
export function reduceMean(g: GradContext, x: string, axes: readonly number[], keepdims: boolean): string {
  const kd = { keepdims: attr.int(keepdims ? 1 : 0) };
  if (g.opset >= 18) return g.emit('ReduceMean', [x, g.int64s(axes)], kd);
  return g.emit('ReduceMean', [x], { ...kd, axes: attr.ints(axes) });
}

/** The statistics of a normalization over `axes`: x̂ = (x − mean)·invStd, with invStd = 1/√(var + ε). */
export interface NormStats {
  readonly xhat: string;
  readonly invStd: string;
}

/**
 * Recomputes (or reuses, when the forward node saved them) mean and 1/√(var + ε) over `axes` (keepdims) and
 * returns x̂. Population variance, as every normalization op uses.
 */
export function normStats(
  g: GradContext,
  x: string,
  axes: readonly number[],
  epsilon: number,
  saved?: { mean: string; invStd: string },
): NormStats {
  if (saved !== undefined) {
    return { xhat: g.emit('Mul', [g.emit('Sub', [x, saved.mean]), saved.invStd]), invStd: saved.invStd };
  }
  const centered = g.emit('Sub', [x, reduceMean(g, x, axes, true)]);
  const variance = reduceMean(g, g.emit('Mul', [centered, centered]), axes, true);
  const invStd = g.emit('Reciprocal', [
    g.emit('Sqrt', [g.emit('Add', [variance, g.scalarLike(epsilon, x)])]),
  ]);
  return { xhat: g.emit('Mul', [centered, invStd]), invStd };
}

/**
 * x̂ and InvStdDev of float32 `x` normalized over the axes from `axis` on, from one unit-scale LayerNormalization
 * node (opset 17+): one fused kernel instead of two reductions and three elementwise passes. Instance norm is the
 * same computation with axis 2.
 */
export function fusedNormStats(g: GradContext, x: string, axis: number, epsilon: number): NormStats {
  const rank = g.rank(x);
  const tail = g.dims(x).slice(axis);
  const ones = tail.every((d) => typeof d === 'number')
    ? g.constant({
        dataType: 1,
        dims: tail as number[],
        values: new Array<number>(tail.reduce<number>((a, d) => a * (d as number), 1)).fill(1),
      })
    : g.emit(
        'ConstantOfShape',
        [g.emit('Slice', [g.emit('Shape', [x]), g.int64s([axis]), g.int64s([rank])])],
        {
          value: attr.tensor({ dataType: 1, dims: [1], values: [1] }),
        },
      );
  const attrs = { axis: attr.int(axis), epsilon: attr.float(epsilon), stash_type: attr.int(1) };
  const [xhat = '', , invStd = ''] = g.emitMulti('LayerNormalization', [x, ones], 3, attrs);
  return { xhat, invStd };
}

/** Whether a forward tensor is a constant whose every element is `value`. */
export function isConstantFill(g: GradContext, name: string, value: number): boolean {
  const c = g.constValue(name);
  return (
    c !== undefined && Array.from(c.values as ArrayLike<number | bigint>).every((v) => Number(v) === value)
  );
}

/**
 * The input gradient of x̂ = (x − mean)/σ over `axes` given dx̂:
 * dx = invStd·(dx̂ − mean(dx̂) − x̂·mean(dx̂·x̂)), the means over the normalized axes.
 */
export function normInputGrad(
  g: GradContext,
  stats: NormStats,
  dxhat: string,
  axes: readonly number[],
  out?: string,
): string {
  const meanD = reduceMean(g, dxhat, axes, true);
  const meanDX = reduceMean(g, g.emit('Mul', [dxhat, stats.xhat]), axes, true);
  const inner = g.emit('Sub', [g.emit('Sub', [dxhat, meanD]), g.emit('Mul', [stats.xhat, meanDX])]);
  return g.emit('Mul', [inner, stats.invStd], {}, out === undefined ? undefined : [out]);
}

/**
 * The gradient of input k of an n-ary Max or Min (broadcasting): dy where xₖ is the selected value, shared
 * evenly between inputs that tie (PyTorch's convention for maximum/minimum), summed over broadcast axes.
 */
export function selectGrad(g: GradContext): void {
  const go = requireGo(g);
  const y = g.o(0);
  const type = g.dataType(y);
  const hits: string[] = [];
  for (let k = 0; k < g.inputCount; k++) hits.push(g.emit('Equal', [g.i(k), y]));
  const asFloat = hits.map((h) => g.emit('Cast', [h], { to: attr.int(type) }));
  const share = asFloat.length === 1 ? go : g.emit('Div', [go, g.emit('Sum', asFloat)]);
  for (let k = 0; k < g.inputCount; k++) {
    if (!g.needs(k)) continue;
    const picked = g.emit('Mul', [share, asFloat[k] as string]);
    g.unbroadcast(picked, g.i(k), g.gi(k));
  }
}

/**
 * Produces the gradient of elementwise input `x` into `out`. `make(out)` emits dy-shaped values (into `out` when
 * given). They go to `out` directly when no other input can have broadcast x — each of their dims, aligned
 * right, is 1 or provably x's own (a scalar scale, a bias of x's last dim) — else through unbroadcast. Statically
 * obvious cases thus skip the run-time shape checks unbroadcast needs when dims are unknown.
 */
export function gradToInput(
  g: GradContext,
  x: string,
  others: readonly string[],
  out: string,
  make: (out?: string) => string,
): void {
  const dx = g.dims(x);
  const covered = others.every((o) => {
    if (o === '') return true;
    const d = g.dims(o);
    if (d.length > dx.length) return false;
    return d.every((v, i) => v === 1 || (v !== undefined && v === dx[dx.length - d.length + i]));
  });
  if (covered) make(out);
  else g.unbroadcast(make(), x, out);
}

/** For gradToInput: dy itself (an Identity into `out` when bound directly). */
export function passThrough(g: GradContext, go: string): (out?: string) => string {
  return (out) => {
    if (out === undefined) return go;
    g.bind(go, out);
    return out;
  };
}

/** The `outputs` argument of emit for an optional bound name. */
export function outputs(out?: string): string[] | undefined {
  return out === undefined ? undefined : [out];
}
