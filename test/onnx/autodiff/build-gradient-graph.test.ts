/** @jest-environment ./test/onnx/support/onnx-environment.cjs */
// The gradient graph builder on small graphs with test-local rules, run in onnxruntime-node: fan-out sums,
// broadcast undone, pruning, deterministic output, and the errors that name the op and node.

import { buildGradientGraph } from '../../../trainer-image/src/autodiff/build-gradient-graph.ts';
import type { GradRule } from '../../../trainer-image/src/autodiff/grad-rule.ts';
import { GradRegistry } from '../../../trainer-image/src/autodiff/registry.ts';
import { encodeModel } from '../../../trainer-image/src/onnx/codec.ts';
import { GraphBuilder } from '../../../trainer-image/src/onnx/graph-builder.ts';
import { DataType } from '../../../trainer-image/src/onnx/model.ts';
import { Session } from '../../../trainer-image/src/runtime/session.ts';

const add: GradRule = {
  opType: 'Add',
  build: (g) => {
    const go = g.go(0);
    if (!go) return;
    if (g.needs(0)) g.unbroadcast(go, g.i(0), g.gi(0));
    if (g.needs(1)) g.unbroadcast(go, g.i(1), g.gi(1));
  },
};
const mul: GradRule = {
  opType: 'Mul',
  build: (g) => {
    const go = g.go(0);
    if (!go) return;
    if (g.needs(0)) g.unbroadcast(g.emit('Mul', [go, g.i(1)]), g.i(0), g.gi(0));
    if (g.needs(1)) g.unbroadcast(g.emit('Mul', [go, g.i(0)]), g.i(1), g.gi(1));
  },
};
/** ReduceSum over all axes, keepdims=0: the gradient is the output gradient expanded to the input shape. */
const reduceSumAll: GradRule = {
  opType: 'ReduceSum',
  nonDifferentiableInputs: [1],
  build: (g) => {
    const go = g.go(0);
    if (!go || !g.needs(0)) return;
    g.emit('Expand', [go, g.emit('Shape', [g.i(0)])], undefined, [g.gi(0)]);
  },
};

function registry(): GradRegistry {
  return new GradRegistry().register(add).register(mul).register(reduceSumAll);
}

/** loss = sum(x·w + x + c) with x [batch, 3] (symbolic batch), w [1, 3] an initializer, c unrelated. */
function model(batch: number | string) {
  return new GraphBuilder('toy')
    .input('x', DataType.FLOAT, [batch, 3])
    .input('c', DataType.FLOAT, [batch, 3])
    .initializer('w', { dataType: DataType.FLOAT, dims: [1, 3], values: [2, 3, 4] })
    .node('Mul', ['x', 'w'], ['xw'])
    .node('Add', ['xw', 'x'], ['y'])
    .node('Add', ['y', 'c'], ['z'])
    .node('Mul', ['c', 'c'], ['unused'])
    .node('ReduceSum', ['z'], ['loss'], { keepdims: { type: 'int', value: 0 } })
    .output('loss', DataType.FLOAT, [])
    .output('unused', DataType.FLOAT, [batch, 3])
    .build(17);
}

describe('buildGradientGraph', () => {
  it.each([2, 'batch'])('computes summed, unbroadcast gradients (batch %s)', async (batch) => {
    const { model: grad, gradients } = buildGradientGraph(model(batch), {
      loss: 'loss',
      wrt: ['x', 'w'],
      registry: registry(),
    });
    expect(Object.keys(gradients)).toEqual(['x', 'w']);
    expect(grad.graph.inputs.map((v) => v.name).sort()).toEqual(['c', 'w', 'x']);
    expect(grad.graph.nodes.some((n) => n.outputs.includes('unused'))).toBe(false);
    const session = await Session.create(encodeModel(grad));
    const x = new Float32Array([1, 2, 3, 4, 5, 6]);
    const out = await session.run({
      x: { dataType: DataType.FLOAT, dims: [2, 3], data: x },
      c: { dataType: DataType.FLOAT, dims: [2, 3], data: new Float32Array(6).fill(1) },
      w: { dataType: DataType.FLOAT, dims: [1, 3], data: new Float32Array([2, 3, 4]) },
    });
    const gx = out[gradients.x ?? '']?.data;
    const gw = out[gradients.w ?? '']?.data;
    expect([...(gx ?? [])]).toEqual([3, 4, 5, 3, 4, 5]);
    expect([...(gw ?? [])]).toEqual([5, 7, 9]);
    expect(out[gradients.w ?? '']?.dims).toEqual([1, 3]);
    expect(out.loss?.data[0]).toBeCloseTo(1 * 3 + 2 * 4 + 3 * 5 + 4 * 3 + 5 * 4 + 6 * 5 + 6, 4);
    await session.release();
  });

  it('sorts unsorted nodes, outputs intermediate gradients, and lets a rule ask for an optional output', async () => {
    let saved: string | undefined;
    const layerNorm: GradRule = {
      opType: 'LayerNormalization',
      build: (g) => {
        saved = g.savedOutput?.(2);
        g.bind(g.go(0) ?? '', g.gi(0));
      },
    };
    const m = new GraphBuilder()
      .input('x', DataType.FLOAT, [2, 3])
      .initializer('scale', { dataType: DataType.FLOAT, dims: [3], values: [1, 1, 1] })
      .node('ReduceSum', ['h'], ['loss'], { keepdims: { type: 'int', value: 0 } })
      .node('Mul', ['n', 'x'], ['h'])
      .node('LayerNormalization', ['x', 'scale'], ['n'])
      .output('loss', DataType.FLOAT, [])
      .build(17);
    const reg = registry().register(layerNorm);
    const { model: grad, gradients } = buildGradientGraph(m, {
      loss: 'loss',
      wrt: ['x'],
      registry: reg,
      intermediateGradients: ['h'],
    });
    expect(saved).toBeDefined();
    const ln = grad.graph.nodes.find((n) => n.opType === 'LayerNormalization' && !n.name.startsWith('grad/'));
    expect(ln?.outputs[2]).toBe(saved);
    expect(Object.keys(gradients)).toEqual(['x', 'h']);
    const session = await Session.create(encodeModel(grad));
    const out = await session.run({
      x: { dataType: DataType.FLOAT, dims: [2, 3], data: new Float32Array([1, 2, 3, 4, 5, 6]) },
    });
    expect([...(out[gradients.h ?? '']?.data ?? [])]).toEqual([1, 1, 1, 1, 1, 1]);
    await session.release();
  });

  it('is deterministic', () => {
    const a = encodeModel(
      buildGradientGraph(model(2), { loss: 'loss', wrt: ['x'], registry: registry() }).model,
    );
    const b = encodeModel(
      buildGradientGraph(model(2), { loss: 'loss', wrt: ['x'], registry: registry() }).model,
    );
    expect(Buffer.from(a).equals(Buffer.from(b))).toBe(true);
  });

  it('names the op and node when a rule is missing', () => {
    const reg = new GradRegistry().register(add).register(reduceSumAll);
    expect(() => buildGradientGraph(model(2), { loss: 'loss', wrt: ['x'], registry: reg })).toThrow(
      /no gradient rule for op Mul \(node 'Mul_0'\)/,
    );
  });

  it('rejects a wrt that the loss does not depend on', () => {
    const m = new GraphBuilder()
      .input('x', DataType.FLOAT, [2])
      .input('y', DataType.FLOAT, [2])
      .node('ReduceSum', ['y'], ['loss'], { keepdims: { type: 'int', value: 0 } })
      .output('loss', DataType.FLOAT, [])
      .build();
    expect(() => buildGradientGraph(m, { loss: 'loss', wrt: ['x'], registry: registry() })).toThrow(
      /does not depend/,
    );
  });
});
