// The reverse sweep: seed d loss / d loss = 1, then walk the path from the loss back to wrt, each node's rule
// emitting its input gradients from the (summed) gradients of its outputs.

import type { OnnxNode } from '../onnx/model.ts';
import type { TensorInfo } from '../onnx/shape-inference.ts';
import type { BackwardState } from './backward-state.ts';
import { gradContext, type NodeGradients } from './grad-context.ts';
import type { GradRule } from './grad-rule.ts';

/** Step 5: the loss's own gradient, ones shaped like the loss (a constant when its dims are known). */
export function seedLoss(loss: string, s: BackwardState): TensorInfo {
  const { emitter } = s;
  const lossInfo = emitter.infoOf(
    loss,
    s.forward.nodes[0] ?? { name: loss, opType: 'loss', domain: '', inputs: [], outputs: [], attributes: {} },
  );
  const lossDims = lossInfo.dims;
  let seed: string;
  if (lossDims?.every((d) => typeof d === 'number')) {
    const count = (lossDims as number[]).reduce((a, b) => a * b, 1);
    seed = emitter.constant({
      dataType: lossInfo.dataType,
      dims: lossDims as number[],
      values: new Array(count).fill(1),
    });
  } else {
    const [shape] = emitter.emit('grad/seed', 'Shape', [loss], 1);
    [seed] = emitter.emit('grad/seed', 'ConstantOfShape', [shape ?? ''], 1, {
      value: { type: 'tensor', value: { dataType: lossInfo.dataType, dims: [1], values: [1] } },
    }) as [string];
  }
  s.sums.add(loss, seed);
  return lossInfo;
}

/** Step 6: walk the path backwards; a node no gradient reaches is skipped. */
export function backwardSweep(s: BackwardState): void {
  const { onPath, relevant, ruleOf } = s.path;
  for (let idx = onPath.length - 1; idx >= 0; idx--) {
    const node = onPath[idx];
    if (!node) continue;
    const rule = ruleOf(node);
    if (!rule) continue;
    const goNames = node.outputs.map((o) => (o && relevant(o) ? s.sums.gradientOf(o) : undefined));
    if (goNames.every((g) => g === undefined)) continue;
    applyRule(node, rule, goNames, s);
  }
}

/** Runs one rule and hands each input gradient it produced to the sums; a gradient it owed is an error. */
function applyRule(
  node: OnnxNode,
  rule: GradRule,
  goNames: readonly (string | undefined)[],
  s: BackwardState,
): void {
  const out: NodeGradients = { giNames: new Map(), produced: new Set() };
  const ctx = gradContext(node, rule, goNames, s, out);
  rule.build(ctx);
  const missing = (k: number) =>
    new Error(
      `gradient rule ${node.opType} (node '${node.name}') did not produce the gradient of input ${k}`,
    );
  for (const [k, name] of out.giNames) {
    if (!out.produced.has(name)) throw missing(k);
    const input = node.inputs[k];
    if (!input) continue;
    // A gradient has its tensor's type and shape, whatever the rule's ops let inference see.
    const known = s.emitter.info.get(input);
    if (known) s.emitter.info.set(name, { dataType: known.dataType, dims: known.dims });
    s.sums.add(input, name);
  }
  for (let k = 0; k < node.inputs.length; k++) {
    if (ctx.needs(k) && !out.giNames.has(k)) throw missing(k);
  }
}
