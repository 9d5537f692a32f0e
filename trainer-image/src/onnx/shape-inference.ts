// Static dtype/rank/dims knowledge for every tensor of a graph, without onnxruntime: a forward pass over the
// nodes with per-op shape rules, plus folding of the small integer "shape arithmetic" tensors (Shape → Gather →
// Unsqueeze → Concat → Reshape) that TorchScript exports are full of, with symbolic dims ('batch') kept as
// symbols. The export's value_info is used only where a rule cannot tell. Unknown stays undefined, never guessed.

import { DataType, type OnnxGraph, type OnnxNode, type OnnxTensor } from './model.ts';
import { SHAPE_RULES } from './shape-rules/index.ts';
import { type InfoMap, isIntType, SMALL, shapeContext, type TensorInfo } from './shape-rules/shape-rule.ts';
import { decodeValues } from './tensor-values.ts';
import type { ConstTensor, Dim } from './typed-values.ts';

export { broadcastDims, formatDim } from './shape-rules/dims.ts';
export type { InfoMap, TensorInfo } from './shape-rules/shape-rule.ts';

/** Infers dtype/rank/dims for all tensors reachable in `graph`. */
export function inferShapes(graph: OnnxGraph, opset: number): Map<string, TensorInfo> {
  const info: InfoMap = new Map();
  const hints = new Map(graph.valueInfo.map((v) => [v.name, v]));
  for (const v of [...graph.inputs, ...graph.outputs]) hints.set(v.name, v);
  for (const v of graph.inputs) info.set(v.name, { dataType: v.dataType, dims: v.dims });
  for (const t of graph.initializers) info.set(t.name, initializerInfo(t));
  for (const node of graph.nodes) {
    const results = inferNode(node, info, opset);
    node.outputs.forEach((name, k) => {
      if (!name) return;
      const inferred = results[k];
      const hint = hints.get(name);
      if (inferred && inferred.dims !== undefined && inferred.dataType !== 0) {
        // Fill symbolic holes from the export's value_info where it knows better.
        const dims =
          hint?.dims && hint.dims.length === inferred.dims.length
            ? inferred.dims.map((d, i) => (typeof d === 'number' ? d : (hint.dims?.[i] ?? d)))
            : inferred.dims;
        info.set(name, { ...inferred, dims });
      } else if (hint && hint.dataType !== 0) {
        info.set(name, {
          dataType: inferred?.dataType || hint.dataType,
          dims: inferred?.dims ?? hint.dims,
          ...(inferred?.sym ? { sym: inferred.sym } : {}),
        });
      } else if (inferred) {
        info.set(name, inferred);
      }
    });
  }
  return info;
}

/** Output infos of one node given the infos of its inputs (entries may be undefined when unknown). */
export function inferNode(node: OnnxNode, info: InfoMap, opset: number): (TensorInfo | undefined)[] {
  const rule = SHAPE_RULES.get(node.opType);
  return rule ? rule(shapeContext(node, info, opset)) : [];
}

/** An initializer's info, with its values when it is a small rank ≤ 1 integer or float tensor in memory. */
function initializerInfo(t: OnnxTensor): TensorInfo {
  let extra: { sym?: Dim[]; floats?: number[] } = {};
  if (t.data.kind === 'raw' && t.dims.length <= 1 && t.data.bytes.byteLength <= 8 * SMALL) {
    const values = decodeValues(t.dataType, t.data.bytes);
    if (isIntType(t.dataType)) extra = { sym: symFromConst({ dataType: t.dataType, dims: t.dims, values }) };
    else if (t.dataType === DataType.FLOAT) extra = { floats: values as number[] };
  }
  return { dataType: t.dataType, dims: t.dims, ...extra };
}

function symFromConst(value: ConstTensor): Dim[] | undefined {
  if (!isIntType(value.dataType) || value.dims.length > 1 || value.values.length > SMALL) return undefined;
  return (value.values as readonly (number | bigint)[]).map((v) => Number(v));
}
