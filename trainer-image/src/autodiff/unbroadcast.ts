// GradContext.unbroadcast: a gradient shaped like a broadcast result, summed back to the shape of one operand.
// Static (ReduceSum, + Reshape when leading axes go) when the dims are known; otherwise the reduced axes are
// computed at run time (opset ≥ 13, where ReduceSum takes its axes as an input).
import type { OnnxNode } from '../onnx/model.ts';
import type { Dim } from '../onnx/typed-values.ts';
import type { GradientEmitter } from './emitter.ts';

/** Where the unbroadcast nodes go: the emitter, the forward node whose rule asks, and the names' prefix. */
interface Site {
  readonly emitter: GradientEmitter;
  readonly node: OnnxNode;
  readonly prefix: string;
}

/** Binds `grad` to `out` after summing away the axes broadcast from `like`. */
export function emitUnbroadcast(site: Site, grad: string, like: string, out: string): void {
  const { emitter, node } = site;
  const g = emitter.dimsOf(grad, node);
  const l = emitter.dimsOf(like, node);
  const lead = g.length - l.length;
  if (lead < 0)
    throw new Error(`${node.opType} node '${node.name}': cannot unbroadcast '${grad}' to '${like}'`);
  const axes: number[] = [];
  for (let a = 0; a < lead; a++) axes.push(a);
  let dynamic = false;
  l.forEach((d, i) => {
    const gd = g[i + lead];
    if (d === gd && d !== undefined) return;
    if (d === 1) axes.push(i + lead);
    else dynamic = true;
  });
  if (!dynamic) {
    staticUnbroadcast(site, grad, like, out, axes, lead, l);
    return;
  }
  if (emitter.opset < 13) {
    throw new Error(`${node.opType} node '${node.name}': unbroadcast with unknown dims needs opset >= 13`);
  }
  runtimeUnbroadcast(site, grad, like, out, axes.slice(0, lead));
  emitter.info.set(out, { dataType: emitter.infoOf(grad, node).dataType, dims: l });
}

/** Every summed axis is known: the leading ones and those where `like` has size 1 and the gradient not. */
function staticUnbroadcast(
  site: Site,
  grad: string,
  like: string,
  out: string,
  axes: readonly number[],
  lead: number,
  l: readonly Dim[],
): void {
  const { emitter, prefix } = site;
  if (axes.length === 0) {
    emitter.emit(prefix, 'Identity', [grad], 1, undefined, [out]);
    return;
  }
  if (lead === 0) {
    reduceSum(site, grad, axes, 1, out);
    return;
  }
  const summed = reduceSum(site, grad, axes, 1);
  const shape = l.every((d) => typeof d === 'number')
    ? emitter.int64s(l as number[])
    : (emitter.emit(prefix, 'Shape', [like], 1)[0] ?? '');
  emitter.emit(prefix, 'Reshape', [summed, shape], 1, undefined, [out]);
}

/** Sums the leading axes away, then the axes found at run time. */
function runtimeUnbroadcast(site: Site, grad: string, like: string, out: string, leading: readonly number[]) {
  const { emitter, prefix } = site;
  const emit1 = (opType: string, inputs: readonly string[]) =>
    emitter.emit(prefix, opType, inputs, 1)[0] ?? '';
  // Runtime axes: those where `like` has size 1 and the gradient does not (summing a size-1 axis is a no-op).
  const g1 = leading.length > 0 ? reduceSum(site, grad, leading, 0) : grad;
  const shapeL = emit1('Shape', [like]);
  const shapeG = emit1('Shape', [g1]);
  const one = emitter.int64s([1]);
  const isOne = emit1('Equal', [shapeL, one]);
  const same = emit1('Equal', [shapeL, shapeG]);
  const differ = emit1('Not', [same]);
  const mask = emit1('And', [isOne, differ]);
  const nz = emit1('NonZero', [mask]);
  const ax = emit1('Reshape', [nz, emitter.int64s([-1])]);
  emitter.emit(
    prefix,
    'ReduceSum',
    [g1, ax],
    1,
    { keepdims: { type: 'int', value: 1 }, noop_with_empty_axes: { type: 'int', value: 1 } },
    [out],
  );
}

/** ReduceSum over `axes` (as an input from opset 13, an attribute before), into `output` when given. */
function reduceSum(
  site: Site,
  input: string,
  axes: readonly number[],
  keep: number,
  output?: string,
): string {
  const { emitter, prefix } = site;
  const keepdims = { type: 'int', value: keep } as const;
  const outputs = output ? [output] : undefined;
  if (emitter.opset >= 13) {
    return (
      emitter.emit(prefix, 'ReduceSum', [input, emitter.int64s(axes)], 1, { keepdims }, outputs)[0] ?? ''
    );
  }
  const attrs = { keepdims, axes: { type: 'ints', value: axes } } as const;
  return emitter.emit(prefix, 'ReduceSum', [input], 1, attrs, outputs)[0] ?? '';
}
