// Reverse-mode autodiff over an ONNX graph: forward graph in, one graph out that computes the loss and d loss /
// d each `wrt` tensor with standard ONNX ops. Only nodes on a wrt→loss path get gradient nodes; fan-out is
// summed once per tensor; every name is derived from node names and counters, so equal inputs give equal bytes.
// Static knowledge for the rules (dtype/rank/dims, constant values) comes from onnx/shape-inference.ts: its own
// per-op propagation with folding of shape arithmetic, extended node by node over the emitted gradient nodes,
// with the export's value_info only as a hint; it needs no onnxruntime. Unknown dims stay unknown and
// unbroadcast then falls back to a runtime computation of the reduced axes.

import { toOnnxAttributes } from '../onnx/graph-builder.ts';
import {
  defaultOpset,
  type OnnxModel,
  type OnnxNode,
  type OnnxTensor,
  type ValueInfo,
} from '../onnx/model.ts';
import { inferNode, inferShapes, type TensorInfo } from '../onnx/shape-inference.ts';
import { constToTensor, decodeValues, tensorToConst } from '../onnx/tensor-values.ts';
import type { Attr, ConstTensor, ConsumerView, Dim, GradContext, GradRule } from './grad-rule.ts';
import { defaultRegistry, type GradRegistry } from './registry.ts';

export interface GradientGraphOptions {
  /** The scalar (or any-shaped: gradients of its sum) tensor to differentiate. */
  readonly loss: string;
  /** Graph inputs or initializers (initializers become graph inputs) to differentiate with respect to. */
  readonly wrt: readonly string[];
  readonly registry?: GradRegistry;
  /** Extra forward tensors to keep as graph outputs (e.g. a prediction for debugging). */
  readonly extraOutputs?: readonly string[];
  /**
   * Intermediate tensors on a wrt → loss path whose (total) gradient to output as well, e.g. a text encoder's
   * output inside a merged graph; they cost nothing extra, the backward pass computes them anyway.
   */
  readonly intermediateGradients?: readonly string[];
  /**
   * How backward nodes use frozen weights (GradContext.frozenWeights): 'fold' (default) lets rules transpose or
   * flip them, which onnxruntime folds into new constants at session start (fast kernels, a second copy of every
   * weight); 'reference' makes rules read the weights as stored (Gemm transB, ConvTranspose), so a full-size
   * UNet's 3.4 GB exist once.
   */
  readonly frozenWeights?: 'fold' | 'reference';
}

export interface GradientGraph {
  readonly model: OnnxModel;
  /** wrt name → the name of its gradient output. */
  readonly gradients: Record<string, string>;
}

const ATTR_INT = (value: number): Attr => ({ type: 'int', value });

/** Ops whose optional trailing outputs a rule may ask the forward node to produce (savedOutput). */
const OPTIONAL_OUTPUTS: Readonly<Record<string, number>> = { LayerNormalization: 3, Dropout: 2 };

/** Orders nodes so every input is produced before use (ONNX requires it; we check rather than trust). */
export function topologicalOrder(nodes: readonly OnnxNode[], available: ReadonlySet<string>): OnnxNode[] {
  const producer = new Map<string, number>();
  nodes.forEach((n, i) => {
    for (const o of n.outputs) if (o) producer.set(o, i);
  });
  let sorted = true;
  const seen = new Set<string>(available);
  for (const n of nodes) {
    for (const i of n.inputs) if (i && !seen.has(i) && producer.has(i)) sorted = false;
    for (const o of n.outputs) seen.add(o);
  }
  if (sorted) return [...nodes];
  const state = new Uint8Array(nodes.length);
  const out: OnnxNode[] = [];
  const visit = (start: number) => {
    const stack: [number, number][] = [[start, 0]];
    while (stack.length > 0) {
      const top = stack[stack.length - 1];
      if (!top) break;
      const [idx, k] = top;
      const node = nodes[idx];
      if (!node) break;
      if (k === 0) {
        if (state[idx] === 2) {
          stack.pop();
          continue;
        }
        state[idx] = 1;
      }
      if (k < node.inputs.length) {
        top[1] = k + 1;
        const p = producer.get(node.inputs[k] ?? '');
        if (p !== undefined && state[p] === 0) stack.push([p, 0]);
        else if (p !== undefined && state[p] === 1)
          throw new Error(`graph has a cycle through node '${node.name}'`);
        continue;
      }
      state[idx] = 2;
      out.push(node);
      stack.pop();
    }
  };
  nodes.forEach((_, i) => {
    if (state[i] === 0) visit(i);
  });
  return out;
}

/** Gives every node a unique non-empty name (exports sometimes leave them empty). */
function nameNodes(nodes: readonly OnnxNode[]): OnnxNode[] {
  const used = new Set<string>();
  return nodes.map((n, i) => {
    let name = n.name || `${n.opType}_${i}`;
    while (used.has(name)) name = `${name}_${i}`;
    used.add(name);
    return name === n.name ? n : { ...n, name };
  });
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

export function buildGradientGraph(model: OnnxModel, options: GradientGraphOptions): GradientGraph {
  const registry = options.registry ?? defaultRegistry();
  const opset = defaultOpset(model);
  const graph = model.graph;
  const { loss, wrt } = options;

  // 1. wrt tensors become graph inputs.
  const initializers = new Map(graph.initializers.map((t) => [t.name, t]));
  const inputs: ValueInfo[] = [...graph.inputs];
  for (const w of wrt) {
    const init = initializers.get(w);
    if (init) {
      initializers.delete(w);
      const existing = inputs.findIndex((v) => v.name === w);
      const info: ValueInfo = { name: w, dataType: init.dataType, dims: [...init.dims] };
      if (existing >= 0) inputs[existing] = info;
      else inputs.push(info);
    } else if (!inputs.some((v) => v.name === w)) {
      throw new Error(`wrt '${w}' is neither a graph input nor an initializer`);
    }
  }
  const initList = [...initializers.values()];
  const available = new Set<string>([...inputs.map((v) => v.name), ...initList.map((t) => t.name)]);
  const nodes = topologicalOrder(nameNodes(graph.nodes), available);
  const nodeIndex = new Map(nodes.map((n, i) => [n.name, i]));
  const forwardGraph = { ...graph, nodes, inputs, initializers: initList };
  const info = inferShapes(forwardGraph, opset);

  // 2. Tensors that vary with wrt (through differentiable inputs of ops that pass gradients).
  const varying = new Set<string>(wrt);
  const ruleOf = (n: OnnxNode): GradRule | undefined => registry.get(n.opType);
  const differentiable = (n: OnnxNode, k: number): boolean => {
    const rule = ruleOf(n);
    return !(rule?.nonDifferentiableInputs ?? []).includes(k);
  };
  for (const n of nodes) {
    if (registry.isNonDifferentiable(n.opType)) continue;
    if (n.inputs.some((name, k) => name && varying.has(name) && differentiable(n, k))) {
      for (const o of n.outputs) if (o) varying.add(o);
    }
  }
  if (!varying.has(loss)) {
    throw new Error(`loss '${loss}' does not depend on any of ${wrt.map((w) => `'${w}'`).join(', ')}`);
  }

  // 3. Tensors the loss depends on; relevant = on a wrt → loss path.
  const ancestors = new Set<string>([loss]);
  for (let i = nodes.length - 1; i >= 0; i--) {
    const n = nodes[i];
    if (n?.outputs.some((o) => ancestors.has(o))) for (const x of n.inputs) if (x) ancestors.add(x);
  }
  const relevant = (name: string): boolean => varying.has(name) && ancestors.has(name);
  const onPath = nodes.filter(
    (n) =>
      !registry.isNonDifferentiable(n.opType) &&
      n.outputs.some((o) => relevant(o)) &&
      n.inputs.some((x, k) => x && relevant(x) && differentiable(n, k)),
  );
  for (const n of onPath) {
    if (!ruleOf(n))
      throw new Error(`no gradient rule for op ${n.opType} (node '${n.name}') on the path to '${loss}'`);
  }

  // 4. Emission state.
  const taken = new Set<string>(available);
  for (const n of nodes) for (const o of n.outputs) taken.add(o);
  const fresh = (base: string): string => {
    let name = base;
    let k = 1;
    while (taken.has(name)) name = `${base}_${k++}`;
    taken.add(name);
    return name;
  };
  const gradNodes: OnnxNode[] = [];
  const gradInits: OnnxTensor[] = [];
  const constCache = new Map<string, string>();
  const forwardConst = new Map<string, ConstTensor | undefined>();
  const constantNodes = new Map(
    nodes.filter((n) => n.opType === 'Constant').map((n) => [n.outputs[0] ?? '', n]),
  );

  const producerOf = new Map<string, OnnxNode>();
  const pushNode = (node: OnnxNode) => {
    gradNodes.push(node);
    for (const o of node.outputs) if (o) producerOf.set(o, node);
    const results = inferNode(node, info, opset);
    node.outputs.forEach((o, k) => {
      const r = results[k];
      if (r) info.set(o, r);
    });
  };
  const emitNode = (
    prefix: string,
    opType: string,
    nodeInputs: readonly string[],
    outCount: number,
    attrs?: Readonly<Record<string, Attr>>,
    outputs?: readonly string[],
  ): string[] => {
    const outs = outputs
      ? [...outputs]
      : Array.from({ length: outCount }, () => fresh(`${prefix}/${opType}`));
    for (const o of outs) taken.add(o);
    pushNode({
      name: fresh(`${prefix}/${opType}_node`),
      opType,
      domain: '',
      inputs: [...nodeInputs],
      outputs: outs,
      attributes: toOnnxAttributes(attrs),
    });
    return outs;
  };
  const constant = (value: ConstTensor): string => {
    const key = `${value.dataType}|${value.dims.join(',')}|${value.values.join(',')}`;
    const cached = constCache.get(key);
    if (cached) return cached;
    const name = fresh(`grad/const_${constCache.size}`);
    constCache.set(key, name);
    const tensor = constToTensor(name, value);
    gradInits.push(tensor);
    const small = value.dims.length <= 1 && value.values.length <= 64;
    const isInt = value.dataType === 7 || value.dataType === 6;
    const entry: TensorInfo = {
      dataType: value.dataType,
      dims: [...value.dims],
      ...(small && isInt
        ? { sym: (value.values as readonly (number | bigint)[]).map((v) => Number(v)) }
        : {}),
      ...(small && !isInt
        ? { floats: (value.values as readonly (number | bigint)[]).map((v) => Number(v)) }
        : {}),
    };
    info.set(name, entry);
    return name;
  };
  const infoOf = (name: string, node: OnnxNode): TensorInfo => {
    const i = info.get(name);
    if (!i || i.dataType === 0) {
      throw new Error(`no static type for tensor '${name}' (at ${node.opType} node '${node.name}')`);
    }
    return i;
  };
  const dimsOf = (name: string, node: OnnxNode): readonly Dim[] => {
    const d = infoOf(name, node).dims;
    if (!d) throw new Error(`unknown rank of tensor '${name}' (at ${node.opType} node '${node.name}')`);
    return d;
  };
  const constValueOf = (name: string): ConstTensor | undefined => {
    if (forwardConst.has(name)) return forwardConst.get(name);
    let value: ConstTensor | undefined;
    const init = initializers.get(name) ?? gradInits.find((t) => t.name === name);
    if (init) value = tensorToConst(init);
    const cn = constantNodes.get(name);
    const a = cn?.attributes.value;
    if (a?.type === 'tensor') value = tensorToConst(a.value);
    else if (cn) {
      const f = cn.attributes.value_float;
      const fs = cn.attributes.value_floats;
      const i = cn.attributes.value_int;
      const is = cn.attributes.value_ints;
      if (f?.type === 'float') value = { dataType: 1, dims: [], values: [f.value] };
      else if (fs?.type === 'floats') value = { dataType: 1, dims: [fs.value.length], values: [...fs.value] };
      else if (i?.type === 'int') value = { dataType: 7, dims: [], values: [BigInt(i.value)] };
      else if (is?.type === 'ints')
        value = { dataType: 7, dims: [is.value.length], values: is.value.map(BigInt) };
    }
    // Shape arithmetic that shape inference folded to plain numbers (Slice bounds of a chunk, Reshape targets
    // computed from static dims) is as constant as an initializer for the rules.
    if (value === undefined) value = foldedValue(info.get(name));
    forwardConst.set(name, value);
    return value;
  };

  // Forward readers of each tensor, for soleConsumer (a graph output or extra output has an outside reader).
  const readers = new Map<string, OnnxNode[]>();
  for (const n of nodes) {
    for (const x of new Set(n.inputs)) {
      if (!x) continue;
      const list = readers.get(x);
      if (list) list.push(n);
      else readers.set(x, [n]);
    }
  }
  const externallyRead = new Set<string>([
    loss,
    ...graph.outputs.map((o) => o.name),
    ...(options.extraOutputs ?? []),
    ...(options.intermediateGradients ?? []),
  ]);

  /** A rule's view of a forward node reading `tensor` (once), with its output gradients and its own readers. */
  const consumerView = (consumer: OnnxNode, tensor: string): ConsumerView => ({
    opType: consumer.opType,
    inputIndex: consumer.inputs.indexOf(tensor),
    inputs: consumer.inputs,
    outputs: consumer.outputs,
    attrInt: (name, fallback) => {
      const a = consumer.attributes[name];
      return a?.type === 'int' ? a.value : fallback;
    },
    go: (j) => {
      const o = consumer.outputs[j];
      return o && relevant(o) ? gradientOf(o) : undefined;
    },
    soleConsumer: (j) => soleReader(consumer.outputs[j]),
    consumers: (j) => readersView(consumer.outputs[j]),
  });
  /** Views of every forward reader of `tensor`; undefined when it is read from outside or a reader uses it twice. */
  function readersView(tensor: string | undefined): ConsumerView[] | undefined {
    if (!tensor || externallyRead.has(tensor)) return undefined;
    const list = readers.get(tensor) ?? [];
    if (list.some((r) => r.inputs.filter((x) => x === tensor).length !== 1)) return undefined;
    return list.map((r) => consumerView(r, tensor));
  }
  function soleReader(tensor: string | undefined): ConsumerView | undefined {
    const views = readersView(tensor);
    return views?.length === 1 ? views[0] : undefined;
  }

  const contributions = new Map<string, string[]>();
  const addContribution = (tensor: string, grad: string) => {
    const list = contributions.get(tensor);
    if (list) list.push(grad);
    else contributions.set(tensor, [grad]);
  };
  /**
   * When every contribution is a zero Pad of a piece along one common axis and the pieces tile that axis (the
   * Slice gradients of a chunk, such as GEGLU's two halves), their sum is the pieces concatenated: one Concat
   * instead of padding each piece to full size and adding the zeros.
   */
  const padTiles = (list: readonly string[]): { axis: number; pieces: string[] } | undefined => {
    let axis = -1;
    const spans: { begin: number; size: number; end: number; piece: string }[] = [];
    for (const grad of list) {
      const pad = producerOf.get(grad);
      if (pad?.opType !== 'Pad' || pad.inputs.length < 2) return undefined;
      const mode = pad.attributes.mode;
      if (mode !== undefined && !(mode.type === 'string' && mode.value === 'constant')) return undefined;
      const fill = pad.inputs[2] ? constValueOf(pad.inputs[2]) : undefined;
      if (pad.inputs[2] && (fill === undefined || fill.values.some((v) => Number(v) !== 0))) return undefined;
      const [piece = '', padsName = ''] = pad.inputs;
      const pads = constValueOf(padsName)?.values.map((v) => Number(v));
      const dims = info.get(piece)?.dims;
      if (!pads || !dims || pads.length !== 2 * dims.length) return undefined;
      const rank = dims.length;
      const padded = Array.from({ length: rank }, (_, a) => a).filter(
        (a) => pads[a] !== 0 || pads[rank + a] !== 0,
      );
      if (padded.length > 1 || pads.some((p) => p < 0)) return undefined;
      const a = padded[0] ?? axis;
      if (a < 0 || (axis >= 0 && a !== axis)) return undefined;
      axis = a;
      const size = dims[a];
      if (typeof size !== 'number') return undefined;
      spans.push({ begin: pads[a] ?? 0, size, end: pads[rank + a] ?? 0, piece });
    }
    spans.sort((p, q) => p.begin - q.begin);
    const total = spans.reduce((t, p) => t + p.size, 0);
    let at = 0;
    for (const p of spans) {
      if (p.begin !== at || p.begin + p.size + p.end !== total) return undefined;
      at += p.size;
    }
    return axis < 0 ? undefined : { axis, pieces: spans.map((p) => p.piece) };
  };
  /** The summed gradient of a tensor (one Sum node for fan-out), or undefined when none arrived. */
  const gradientOf = (tensor: string): string | undefined => {
    const list = contributions.get(tensor);
    if (!list || list.length === 0) return undefined;
    if (list.length === 1) return list[0];
    const tiles = padTiles(list);
    const [sum] =
      tiles === undefined
        ? emitNode(`grad/${tensor}`, 'Sum', list, 1)
        : emitNode(`grad/${tensor}`, 'Concat', tiles.pieces, 1, { axis: ATTR_INT(tiles.axis) });
    const total = sum ?? '';
    const known = info.get(tensor);
    if (known) info.set(total, { dataType: known.dataType, dims: known.dims });
    contributions.set(tensor, [total]);
    return total;
  };

  // 5. Seed d loss / d loss = 1 (shaped like the loss).
  const lossInfo = infoOf(
    loss,
    nodes[0] ?? { name: loss, opType: 'loss', domain: '', inputs: [], outputs: [], attributes: {} },
  );
  const lossDims = lossInfo.dims;
  let seed: string;
  if (lossDims?.every((d) => typeof d === 'number')) {
    const count = (lossDims as number[]).reduce((a, b) => a * b, 1);
    seed = constant({
      dataType: lossInfo.dataType,
      dims: lossDims as number[],
      values: new Array(count).fill(1),
    });
  } else {
    const [shape] = emitNode('grad/seed', 'Shape', [loss], 1);
    [seed] = emitNode('grad/seed', 'ConstantOfShape', [shape ?? ''], 1, {
      value: { type: 'tensor', value: { dataType: lossInfo.dataType, dims: [1], values: [1] } },
    }) as [string];
  }
  addContribution(loss, seed);

  // 6. Walk the path backwards.
  for (let idx = onPath.length - 1; idx >= 0; idx--) {
    const node = onPath[idx];
    if (!node) continue;
    const rule = ruleOf(node);
    if (!rule) continue;
    const goNames = node.outputs.map((o) => (o && relevant(o) ? gradientOf(o) : undefined));
    if (goNames.every((g) => g === undefined)) continue;
    const nonDiff = rule.nonDifferentiableInputs ?? [];
    const giNames = new Map<number, string>();
    const produced = new Set<string>();
    const prefix = `grad/${node.name}`;
    const ctx: GradContext = {
      opType: node.opType,
      nodeName: node.name,
      opset,
      inputCount: node.inputs.length,
      outputCount: node.outputs.length,
      i: (k) => node.inputs[k] ?? '',
      o: (k) => node.outputs[k] ?? '',
      go: (k) => goNames[k],
      savedOutput: (k) => {
        const current = nodes[nodeIndex.get(node.name) ?? -1] ?? node;
        const existing = current.outputs[k];
        if (existing) return existing;
        if (k >= (OPTIONAL_OUTPUTS[node.opType] ?? 0)) return undefined;
        const name = fresh(`${node.name}/saved_output${k}`);
        const outs = Array.from(
          { length: Math.max(current.outputs.length, k + 1) },
          (_, j) => current.outputs[j] ?? '',
        );
        outs[k] = name;
        const replaced: OnnxNode = { ...current, outputs: outs };
        const at = nodeIndex.get(node.name);
        if (at !== undefined) nodes[at] = replaced;
        const inferred = inferNode(replaced, info, opset)[k];
        if (inferred) info.set(name, inferred);
        return name;
      },
      soleConsumer: (k) => soleReader(node.outputs[k]),
      consumers: (k) => readersView(node.outputs[k]),
      gi: (k) => {
        if (!ctx.needs(k)) {
          throw new Error(
            `${node.opType} node '${node.name}': gradient of input ${k} is not needed or not defined`,
          );
        }
        let name = giNames.get(k);
        if (!name) {
          name = fresh(`${prefix}/d_input${k}`);
          giNames.set(k, name);
        }
        return name;
      },
      needs: (k) => {
        const name = node.inputs[k];
        return !!name && relevant(name) && !nonDiff.includes(k);
      },
      attrInt: (name, fallback) => {
        const a = node.attributes[name];
        if (a?.type === 'int') return a.value;
        if (fallback === undefined)
          throw new Error(`${node.opType} node '${node.name}': missing int attribute '${name}'`);
        return fallback;
      },
      attrInts: (name, fallback) => {
        const a = node.attributes[name];
        if (a?.type === 'ints') return a.value;
        if (fallback === undefined)
          throw new Error(`${node.opType} node '${node.name}': missing ints attribute '${name}'`);
        return fallback;
      },
      attrFloat: (name, fallback) => {
        const a = node.attributes[name];
        if (a?.type === 'float') return a.value;
        if (fallback === undefined)
          throw new Error(`${node.opType} node '${node.name}': missing float attribute '${name}'`);
        return fallback;
      },
      attrString: (name, fallback) => {
        const a = node.attributes[name];
        if (a?.type === 'string') return a.value;
        if (fallback === undefined)
          throw new Error(`${node.opType} node '${node.name}': missing string attribute '${name}'`);
        return fallback;
      },
      hasAttr: (name) => name in node.attributes,
      dataType: (name) => infoOf(name, node).dataType,
      rank: (name) => dimsOf(name, node).length,
      dims: (name) => dimsOf(name, node),
      constValue: (name) => constValueOf(name),
      frozenWeights: options.frozenWeights ?? 'fold',
      emit: (opType, nodeInputs, attrs, outputs) => {
        const outs = emitNode(prefix, opType, nodeInputs, 1, attrs, outputs);
        for (const o of outs) produced.add(o);
        return outs[0] ?? '';
      },
      emitMulti: (opType, nodeInputs, outputCount, attrs) => {
        const outs = emitNode(prefix, opType, nodeInputs, outputCount, attrs);
        for (const o of outs) produced.add(o);
        return outs;
      },
      constant: (value) => constant(value),
      scalarLike: (value, like) =>
        constant({ dataType: infoOf(like, node).dataType, dims: [], values: [value] }),
      int64s: (values) =>
        constant({ dataType: 7, dims: [values.length], values: values.map((v) => BigInt(v)) }),
      unbroadcast: (grad, like, out) => {
        unbroadcast(grad, like, out);
        produced.add(out);
      },
      bind: (source, out) => {
        emitNode(prefix, 'Identity', [source], 1, undefined, [out]);
        produced.add(out);
      },
    };

    const unbroadcast = (grad: string, like: string, out: string) => {
      const g = dimsOf(grad, node);
      const l = dimsOf(like, node);
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
      const reduceSum = (input: string, ax: readonly number[], keep: number, output?: string): string => {
        if (opset >= 13) {
          return (
            emitNode(
              prefix,
              'ReduceSum',
              [input, ctx.int64s(ax)],
              1,
              { keepdims: ATTR_INT(keep) },
              output ? [output] : undefined,
            )[0] ?? ''
          );
        }
        return (
          emitNode(
            prefix,
            'ReduceSum',
            [input],
            1,
            { keepdims: ATTR_INT(keep), axes: { type: 'ints', value: ax } },
            output ? [output] : undefined,
          )[0] ?? ''
        );
      };
      if (!dynamic) {
        if (axes.length === 0) {
          emitNode(prefix, 'Identity', [grad], 1, undefined, [out]);
          return;
        }
        if (lead === 0) {
          reduceSum(grad, axes, 1, out);
          return;
        }
        const summed = reduceSum(grad, axes, 1);
        const shape = l.every((d) => typeof d === 'number')
          ? ctx.int64s(l as number[])
          : (emitNode(prefix, 'Shape', [like], 1)[0] ?? '');
        emitNode(prefix, 'Reshape', [summed, shape], 1, undefined, [out]);
        return;
      }
      if (opset < 13) {
        throw new Error(
          `${node.opType} node '${node.name}': unbroadcast with unknown dims needs opset >= 13`,
        );
      }
      // Runtime axes: those where `like` has size 1 and the gradient does not (summing a size-1 axis is a no-op).
      const g1 = lead > 0 ? reduceSum(grad, axes.slice(0, lead), 0) : grad;
      const [shapeL] = emitNode(prefix, 'Shape', [like], 1);
      const [shapeG] = emitNode(prefix, 'Shape', [g1], 1);
      const one = ctx.int64s([1]);
      const [isOne] = emitNode(prefix, 'Equal', [shapeL ?? '', one], 1);
      const [same] = emitNode(prefix, 'Equal', [shapeL ?? '', shapeG ?? ''], 1);
      const [differ] = emitNode(prefix, 'Not', [same ?? ''], 1);
      const [mask] = emitNode(prefix, 'And', [isOne ?? '', differ ?? ''], 1);
      const [nz] = emitNode(prefix, 'NonZero', [mask ?? ''], 1);
      const [ax] = emitNode(prefix, 'Reshape', [nz ?? '', ctx.int64s([-1])], 1);
      emitNode(
        prefix,
        'ReduceSum',
        [g1, ax ?? ''],
        1,
        { keepdims: ATTR_INT(1), noop_with_empty_axes: ATTR_INT(1) },
        [out],
      );
      info.set(out, { dataType: infoOf(grad, node).dataType, dims: l });
    };

    rule.build(ctx);
    for (const [k, name] of giNames) {
      if (!produced.has(name)) {
        throw new Error(
          `gradient rule ${node.opType} (node '${node.name}') did not produce the gradient of input ${k}`,
        );
      }
      const input = node.inputs[k];
      if (!input) continue;
      // A gradient has its tensor's type and shape, whatever the rule's ops let inference see.
      const known = info.get(input);
      if (known) info.set(name, { dataType: known.dataType, dims: known.dims });
      addContribution(input, name);
    }
    for (let k = 0; k < node.inputs.length; k++) {
      if (ctx.needs(k) && !giNames.has(k)) {
        throw new Error(
          `gradient rule ${node.opType} (node '${node.name}') did not produce the gradient of input ${k}`,
        );
      }
    }
  }

  // 7. Gradient outputs.
  const gradients: Record<string, string> = {};
  const outputs: ValueInfo[] = [{ name: loss, dataType: lossInfo.dataType, dims: lossInfo.dims }];
  for (const w of [...wrt, ...(options.intermediateGradients ?? [])]) {
    const g = gradientOf(w);
    if (!g) throw new Error(`'${w}' is not on any path to '${loss}'`);
    const name = fresh(`grad_${w}`);
    emitNode('grad/out', 'Identity', [g], 1, undefined, [name]);
    gradients[w] = name;
    const wi = info.get(w);
    outputs.push({ name, dataType: wi?.dataType ?? 0, dims: wi?.dims });
  }
  for (const extra of options.extraOutputs ?? []) {
    const ei = info.get(extra);
    outputs.push({ name: extra, dataType: ei?.dataType ?? 0, dims: ei?.dims });
  }

  // 8. Drop the gradient graph's Identity nodes (rules' bind, no-op unbroadcast) by renaming their uses, then
  // prune: keep only what the outputs need.
  const outputNames = new Set(outputs.map((o) => o.name));
  const alias = new Map<string, string>();
  const resolve = (name: string): string => {
    let current = name;
    for (let next = alias.get(current); next !== undefined; next = alias.get(current)) current = next;
    return current;
  };
  for (const n of gradNodes) {
    const [source] = n.inputs;
    const [target] = n.outputs;
    if (n.opType === 'Identity' && source && target && !outputNames.has(target)) alias.set(target, source);
  }
  const rewritten = gradNodes
    .filter((n) => !(n.opType === 'Identity' && alias.has(n.outputs[0] ?? '')))
    .map((n) => (n.inputs.some((x) => alias.has(x)) ? { ...n, inputs: n.inputs.map(resolve) } : n));
  const all = [...nodes, ...rewritten];
  const needed = new Set(outputs.map((o) => o.name));
  const keep: boolean[] = new Array(all.length).fill(false);
  for (let i = all.length - 1; i >= 0; i--) {
    const n = all[i];
    if (n?.outputs.some((o) => needed.has(o))) {
      keep[i] = true;
      for (const x of n.inputs) if (x) needed.add(x);
    }
  }
  const keptNodes = all.filter((_, i) => keep[i]);
  const keptInits = [...initList, ...gradInits].filter((t) => needed.has(t.name));
  const keptInputs = inputs.filter((v) => needed.has(v.name) || wrt.includes(v.name));

  return {
    model: {
      ...model,
      graph: {
        name: `${graph.name}_grad`,
        nodes: keptNodes,
        initializers: keptInits,
        inputs: keptInputs,
        outputs,
        valueInfo: [],
      },
    },
    gradients,
  };
}

/** Values of an INT64 constant as numbers (helper for rules and tests). */
export function int64Values(t: OnnxTensor): number[] {
  if (t.data.kind !== 'raw') throw new Error(`tensor '${t.name}' is not in memory`);
  return (decodeValues(t.dataType, t.data.bytes) as readonly (number | bigint)[]).map((v) => Number(v));
}
