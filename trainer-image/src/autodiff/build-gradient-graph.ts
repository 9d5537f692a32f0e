// Reverse-mode autodiff over an ONNX graph: forward graph in, one graph out that computes the loss and d loss /
// d each `wrt` tensor with standard ONNX ops. Only nodes on a wrt→loss path get gradient nodes; fan-out is
// summed once per tensor; every name is derived from node names and counters, so equal inputs give equal bytes.
// Static knowledge for the rules (dtype/rank/dims, constant values) comes from onnx/shape-inference.ts: its own
// per-op propagation with folding of shape arithmetic, extended node by node over the emitted gradient nodes,
// with the export's value_info only as a hint; it needs no onnxruntime. Unknown dims stay unknown and
// unbroadcast then falls back to a runtime computation of the reduced axes.

import type { OnnxModel, OnnxTensor } from '../onnx/model.ts';
import { decodeValues } from '../onnx/tensor-values.ts';
import type { BackwardState } from './backward-state.ts';
import { backwardSweep, seedLoss } from './backward-sweep.ts';
import { constantReader } from './constant-values.ts';
import { forwardReaders } from './consumer-views.ts';
import { GradientEmitter } from './emitter.ts';
import { prepareForward } from './forward-graph.ts';
import { dropIdentities, pruneToOutputs, wireOutputs } from './gradient-outputs.ts';
import { findGradientPath } from './gradient-path.ts';
import { GradientSum } from './gradient-sum.ts';
import { defaultRegistry, type GradRegistry } from './registry.ts';

export { topologicalOrder } from './forward-graph.ts';

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

/**
 * The phases, each in its own module: prepare the forward graph (forward-graph.ts), find the wrt → loss path
 * (gradient-path.ts), seed and sweep backwards (backward-sweep.ts, one GradContext per node: grad-context.ts),
 * summing fan-out once (gradient-sum.ts), then wire the outputs and prune (gradient-outputs.ts).
 */
export function buildGradientGraph(model: OnnxModel, options: GradientGraphOptions): GradientGraph {
  const { loss, wrt } = options;
  // 1. wrt tensors become graph inputs; 2–3. the tensors on a wrt → loss path.
  const forward = prepareForward(model, wrt);
  const path = findGradientPath(forward.nodes, options.registry ?? defaultRegistry(), loss, wrt);
  // 4. Emission state: names taken by the forward graph, constants, readers of each forward tensor.
  const forwardNames = forward.nodes.flatMap((n) => n.outputs);
  const emitter = new GradientEmitter(forward.info, forward.opset, [...forward.available, ...forwardNames]);
  const constValueOf = constantReader(forward, emitter);
  const sums = new GradientSum(emitter, constValueOf);
  const externallyRead = new Set<string>([
    loss,
    ...model.graph.outputs.map((o) => o.name),
    ...(options.extraOutputs ?? []),
    ...(options.intermediateGradients ?? []),
  ]);
  const outputGradient = (o: string) => (path.relevant(o) ? sums.gradientOf(o) : undefined);
  const readers = forwardReaders(forward.nodes, externallyRead, outputGradient);
  const frozenWeights = options.frozenWeights ?? 'fold';
  const state: BackwardState = { forward, path, emitter, sums, readers, constValueOf, frozenWeights };
  // 5. Seed d loss / d loss = 1 (shaped like the loss); 6. walk the path backwards.
  const lossInfo = seedLoss(loss, state);
  backwardSweep(state);
  // 7. Gradient outputs; 8. drop bound Identities, then keep only what the outputs need.
  const requested = [...wrt, ...(options.intermediateGradients ?? [])];
  const { outputs, gradients } = wireOutputs(
    { name: loss, info: lossInfo },
    requested,
    options.extraOutputs ?? [],
    emitter,
    sums,
  );
  const kept = pruneToOutputs(
    [...forward.nodes, ...dropIdentities(emitter.nodes, new Set(outputs.map((o) => o.name)))],
    [...forward.initList, ...emitter.initializers],
    forward.inputs,
    outputs,
    wrt,
  );
  const graph = { name: `${model.graph.name}_grad`, ...kept, outputs, valueInfo: [] };
  return { model: { ...model, graph }, gradients };
}

/** Values of an INT64 constant as numbers (helper for rules and tests). */
export function int64Values(t: OnnxTensor): number[] {
  if (t.data.kind !== 'raw') throw new Error(`tensor '${t.name}' is not in memory`);
  return (decodeValues(t.dataType, t.data.bytes) as readonly (number | bigint)[]).map((v) => Number(v));
}
