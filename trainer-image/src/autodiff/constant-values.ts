// What the rules' constValue sees: the value of a forward tensor that is constant — an initializer, a Constant
// node, an emitted constant, or small shape arithmetic that shape inference folded to plain numbers.
import type { OnnxNode } from '../onnx/model.ts';
import type { TensorInfo } from '../onnx/shape-inference.ts';
import { tensorToConst } from '../onnx/tensor-values.ts';
import type { ConstTensor } from '../onnx/typed-values.ts';
import type { GradientEmitter } from './emitter.ts';
import type { ForwardGraph } from './forward-graph.ts';

/** A memoised reader of constant values over the forward graph and what `emitter` has emitted. */
export function constantReader(
  forward: ForwardGraph,
  emitter: GradientEmitter,
): (name: string) => ConstTensor | undefined {
  const cache = new Map<string, ConstTensor | undefined>();
  const constantNodes = new Map(
    forward.nodes.filter((n) => n.opType === 'Constant').map((n) => [n.outputs[0] ?? '', n]),
  );
  return (name) => {
    if (cache.has(name)) return cache.get(name);
    let value: ConstTensor | undefined;
    const init = forward.initializers.get(name) ?? emitter.initializers.find((t) => t.name === name);
    if (init) value = tensorToConst(init);
    const cn = constantNodes.get(name);
    if (cn) value = constantNodeValue(cn) ?? value;
    // Shape arithmetic that shape inference folded to plain numbers (Slice bounds of a chunk, Reshape targets
    // computed from static dims) is as constant as an initializer for the rules.
    if (value === undefined) value = foldedValue(forward.info.get(name));
    cache.set(name, value);
    return value;
  };
}

/** The value a Constant node holds (its tensor, or one of the value_float/floats/int/ints forms). */
function constantNodeValue(cn: OnnxNode): ConstTensor | undefined {
  const a = cn.attributes.value;
  if (a?.type === 'tensor') return tensorToConst(a.value);
  const f = cn.attributes.value_float;
  const fs = cn.attributes.value_floats;
  const i = cn.attributes.value_int;
  const is = cn.attributes.value_ints;
  if (f?.type === 'float') return { dataType: 1, dims: [], values: [f.value] };
  if (fs?.type === 'floats') return { dataType: 1, dims: [fs.value.length], values: [...fs.value] };
  if (i?.type === 'int') return { dataType: 7, dims: [], values: [BigInt(i.value)] };
  if (is?.type === 'ints') return { dataType: 7, dims: [is.value.length], values: is.value.map(BigInt) };
  return undefined;
}

/** The values of a small INT64/INT32 tensor whose every element shape inference knows as a number. */
function foldedValue(t: TensorInfo | undefined): ConstTensor | undefined {
  const sym = t?.sym;
  const dims = t?.dims;
  if (!sym || !dims || dims.length > 1 || !sym.every((v) => typeof v === 'number')) return undefined;
  if (dims.length === 1 && dims[0] !== sym.length) return undefined;
  const shape = dims.length === 0 ? [] : [sym.length];
  const numbers = sym as readonly number[];
  if (t.dataType === 7) return { dataType: 7, dims: shape, values: numbers.map((v) => BigInt(v)) };
  if (t.dataType === 6) return { dataType: 6, dims: shape, values: [...numbers] };
  return undefined;
}
