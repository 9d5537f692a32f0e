/** @jest-environment ./test/onnx/support/onnx-environment.cjs */
// Softmax's gradient against central finite differences: last axis, a middle axis, and the opset-12 coerced-2-D
// semantics (the sum runs over every axis from `axis` on); and the attention form O = softmax(x)·V, whose row
// sums come from dO·O, including the cases that must fall back (y broadcast by V, y read twice), also through the
// NaN guard of SDPA exports (Where(IsNaN(y), 0, y) before the MatMul).
import { buildGradientGraph } from '../../../../trainer-image/src/autodiff/build-gradient-graph.ts';
import { attr } from '../../../../trainer-image/src/autodiff/grad-rule.ts';
import { encodeModel } from '../../../../trainer-image/src/onnx/codec.ts';
import { GraphBuilder } from '../../../../trainer-image/src/onnx/graph-builder.ts';
import { DataType } from '../../../../trainer-image/src/onnx/model.ts';
import { Session } from '../../../../trainer-image/src/runtime/session.ts';
import { expectGradientsMatch } from '../../support/finite-difference.ts';

describe('Softmax gradient', () => {
  it.each([
    ['default axis', undefined, 17],
    ['axis 1', 1, 17],
    ['opset 12, axis 1 (coerced to 2-D)', 1, 12],
    ['opset 12, last axis', 2, 12],
  ])('matches finite differences (%s)', async (_, axis, opset) => {
    await expectGradientsMatch({
      opType: 'Softmax',
      inputs: [{ dims: [2, 3, 4], range: [-2, 2] }],
      opset,
      ...(axis === undefined ? {} : { attrs: { axis: attr.int(axis) } }),
    });
  });

  it.each([
    ['same batch', [2, 3, 4], [2, 4, 5], 17],
    ['V without batch axes', [2, 3, 4], [4, 5], 17],
    ['opset 12', [2, 3, 4], [2, 4, 5], 12],
    ['head size 2 (narrow dV)', [2, 12, 12], [2, 12, 2], 17],
    ['cross attention, opset 14', [2, 2, 12, 5], [2, 2, 5, 2], 14],
    ['y broadcast over V batch (fallback)', [1, 3, 4], [2, 4, 5], 17],
    ['rank-2 y against batched V (fallback)', [3, 4], [2, 4, 5], 17],
  ])('attention softmax(x)·V matches finite differences (%s)', async (_, xDims, vDims, opset) => {
    await expectGradientsMatch({
      opType: 'SoftmaxMatMul',
      opset,
      inputs: [{ dims: xDims, range: [-2, 2] }, { dims: vDims }],
      subgraph: (b, [x = '', v = '']) => {
        b.node('Softmax', [x], ['probs'], { axis: attr.int(-1) }).node('MatMul', ['probs', v], ['y0']);
      },
    });
  });

  it('attention softmax(x)·V matches finite differences with symbolic dims ([V | −1] shaped at run time)', async () => {
    await expectGradientsMatch({
      opType: 'SoftmaxMatMulSymbolic',
      inputs: [
        { dims: [2, 3, 4], range: [-2, 2], symbolic: true },
        { dims: [2, 4, 2], symbolic: true },
      ],
      subgraph: (b, [x = '', v = '']) => {
        b.node('Softmax', [x], ['probs'], { axis: attr.int(-1) }).node('MatMul', ['probs', v], ['y0']);
      },
    });
  });

  it('attention with probs also read elsewhere falls back and still matches', async () => {
    await expectGradientsMatch({
      opType: 'SoftmaxMatMulTwice',
      inputs: [{ dims: [2, 3, 4], range: [-2, 2] }, { dims: [2, 4, 5] }],
      outputs: 2,
      subgraph: (b, [x = '', v = '']) => {
        b.node('Softmax', [x], ['probs'], { axis: attr.int(-1) })
          .node('MatMul', ['probs', v], ['y0'])
          .node('Sigmoid', ['probs'], ['y1']);
      },
    });
  });

  /** softmax(x) → Where(IsNaN(probs), fill, probs) → ·V, as SDPA exports guard fully masked rows. */
  const guarded =
    (fill: number, dataType: number = DataType.DOUBLE, reader: 'MatMul' | 'Mul' = 'MatMul') =>
    (b: GraphBuilder, [x = '', v = '']: readonly string[]): void => {
      b.initializer('fill', { dataType, dims: [], values: [fill] });
      b.node('Softmax', [x], ['probs'], { axis: attr.int(-1) })
        .node('IsNaN', ['probs'], ['masked'])
        .node('Where', ['masked', 'fill', 'probs'], ['guarded'])
        .node(reader, ['guarded', v], ['y0']);
    };

  it.each([
    ['zero fill', 0],
    ['non-zero fill (fallback)', 0.5],
  ])('attention through the SDPA NaN guard matches finite differences (%s)', async (_, fill) => {
    await expectGradientsMatch({
      opType: `SoftmaxGuardedMatMul${fill}`,
      inputs: [{ dims: [2, 3, 4], range: [-2, 2] }, { dims: [2, 4, 2] }],
      subgraph: guarded(fill),
    });
  });

  it('behind the NaN guard with another reader (general form) matches finite differences', async () => {
    await expectGradientsMatch({
      opType: 'SoftmaxGuardedMul',
      inputs: [{ dims: [2, 3, 4], range: [-2, 2] }, { dims: [2, 3, 4] }],
      subgraph: guarded(0, DataType.DOUBLE, 'Mul'),
    });
  });

  it('looks through the NaN guard: row sums over dO·O, the guard gradient pruned', () => {
    const b = new GraphBuilder('attn');
    b.input('x', DataType.FLOAT, [2, 3, 4]).input('v', DataType.FLOAT, [2, 4, 2]);
    guarded(0, DataType.FLOAT)(b, ['x', 'v']);
    b.node('ReduceSum', ['y0'], ['loss'], { keepdims: attr.int(0) }).output('loss', DataType.FLOAT, []);
    const { model } = buildGradientGraph(b.build(17), { loss: 'loss', wrt: ['x'] });
    const grads = model.graph.nodes.filter((n) => n.name.startsWith('grad/'));
    expect(grads.filter((n) => n.opType === 'Where')).toHaveLength(0);
    expect(grads.filter((n) => n.opType === 'Sub')).toHaveLength(0);
    const producers = new Map(model.graph.nodes.flatMap((n) => n.outputs.map((o) => [o, n] as const)));
    const summed = grads
      .filter((n) => n.opType === 'ReduceSum')
      .map((n) => producers.get(n.inputs[0] ?? '')?.inputs ?? []);
    expect(summed).toEqual([expect.arrayContaining(['y0'])]);
  });

  it.each([
    ['attention', 'MatMul', [2, 4, 2]],
    ['general form', 'Mul', [2, 3, 4]],
  ] as const)(
    'gives a fully masked row (NaN probabilities, guarded to 0) a zero gradient, not NaN (%s)',
    async (_, reader, vDims) => {
      /** d Σ O² / dx for O = reader(softmax(x), v), guarded or not, at an x whose row (0, 1) is all −∞ (masked). */
      const gradientAt = async (withGuard: boolean): Promise<Float32Array> => {
        const b = new GraphBuilder('attn');
        b.input('x', DataType.FLOAT, [2, 3, 4]).input('v', DataType.FLOAT, [...vDims]);
        if (withGuard) guarded(0, DataType.FLOAT, reader)(b, ['x', 'v']);
        else b.node('Softmax', ['x'], ['probs'], { axis: attr.int(-1) }).node(reader, ['probs', 'v'], ['y0']);
        b.node('Mul', ['y0', 'y0'], ['sq'])
          .node('ReduceSum', ['sq'], ['loss'], { keepdims: attr.int(0) })
          .output('loss', DataType.FLOAT, []);
        const { model, gradients } = buildGradientGraph(b.build(17), { loss: 'loss', wrt: ['x'] });
        const x = Float32Array.from({ length: 24 }, (_, i) => (i >= 4 && i < 8 ? -Infinity : Math.sin(i)));
        const v = Float32Array.from({ length: vDims.reduce((a, d) => a * d, 1) }, (_, i) => Math.cos(i));
        const session = await Session.create(encodeModel(model));
        const out = await session.run({
          x: { dataType: DataType.FLOAT, dims: [2, 3, 4], data: x },
          v: { dataType: DataType.FLOAT, dims: [...vDims], data: v },
        });
        await session.release();
        return out[gradients.x ?? '']?.data as Float32Array;
      };
      const guardedGrad = await gradientAt(true);
      const plainGrad = await gradientAt(false);
      expect([...guardedGrad.slice(4, 8)]).toEqual([0, 0, 0, 0]);
      expect(guardedGrad.every(Number.isFinite)).toBe(true);
      // Every other row is the plain attention gradient (the masked row's NaNs stay in their own row there).
      for (let i = 0; i < 24; i++) {
        if (i >= 4 && i < 8) continue;
        expect(guardedGrad[i]).toBeCloseTo(plainGrad[i] ?? Number.NaN, 6);
      }
      expect(plainGrad.slice(4, 8).some(Number.isNaN)).toBe(true);
    },
  );

  it('sums attention rows over dO·O, never over the scores', () => {
    const b = new GraphBuilder('attn');
    b.input('x', DataType.FLOAT, [2, 3, 4]).input('v', DataType.FLOAT, [2, 4, 5]);
    b.node('Softmax', ['x'], ['probs'], { axis: attr.int(-1) })
      .node('MatMul', ['probs', 'v'], ['o'])
      .node('ReduceSum', ['o'], ['loss'], { keepdims: attr.int(0) })
      .output('loss', DataType.FLOAT, []);
    const { model } = buildGradientGraph(b.build(17), { loss: 'loss', wrt: ['x'] });
    const reduceInputs = model.graph.nodes
      .filter((n) => n.opType === 'ReduceSum' && n.name.startsWith('grad/'))
      .flatMap((n) => n.inputs.slice(0, 1));
    const producers = new Map(model.graph.nodes.flatMap((n) => n.outputs.map((o) => [o, n] as const)));
    const summed = reduceInputs.map((t) => producers.get(t)?.inputs ?? []);
    expect(summed).toHaveLength(1);
    expect(summed[0]).toContain('o');
    expect(summed[0]).not.toContain('probs');
    // dy − s comes from one product [dO | s]·[V | −1]ᵀ (two Concats): no Sub over the scores, no separate dy product.
    const grads = model.graph.nodes.filter((n) => n.name.startsWith('grad/'));
    expect(grads.filter((n) => n.opType === 'Sub')).toHaveLength(0);
    expect(grads.filter((n) => n.opType === 'Concat')).toHaveLength(2);
    expect(grads.filter((n) => n.opType === 'MatMul')).toHaveLength(1);
  });
});
