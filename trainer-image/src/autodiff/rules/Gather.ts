// Gather: y = data indexed by `indices` along `axis` (the embedding lookup), so ddata scatters dy back with
// ADDITION, since an index may repeat (a token used twice). From opset 16 that is ScatterND(reduction = add) into
// zeros: each element is dy summed exactly over its occurrences, O(|dy|) work, no rounding beyond the sum. Before
// opset 16 (no reduction) it is onehot(indices)ᵀ·dy as a MatMul: the products are by exact 0 and 1, so the sums
// are the same, at O(|dy|·|vocab|) work. A non-zero axis is moved to the front first. indices get no gradient.
import type { GradContext, GradRule } from '../grad-rule.ts';
import { attr } from '../grad-rule.ts';
import { constInts, normAxis, requireGo, unsqueeze } from './helpers.ts';

const scalarInt64 = (g: GradContext, v: number): string =>
  g.constant({ dataType: 7, dims: [], values: [BigInt(v)] });

export const gatherGrad: GradRule = {
  opType: 'Gather',
  nonDifferentiableInputs: [1],
  build: (g) => {
    if (!g.needs(0)) return;
    const data = g.i(0);
    const r = g.rank(data);
    const q = g.rank(g.i(1));
    const a = normAxis(g.attrInt('axis', 0), r);
    const shapeData = g.emit('Shape', [data]);
    const extent = g.emit('Gather', [shapeData, scalarInt64(g, a)]);
    let indices = g.dataType(g.i(1)) === 7 ? g.i(1) : g.emit('Cast', [g.i(1)], { to: attr.int(7) });
    const known = constInts(g, g.i(1));
    if (known === undefined || known.some((v) => v < 0)) {
      const negative = g.emit('Less', [indices, scalarInt64(g, 0)]);
      indices = g.emit('Where', [negative, g.emit('Add', [indices, extent]), indices]);
    }
    // Move the gathered axis to the front: dy (pre, ind…, post) → (ind…, pre, post); data → (V, pre, post).
    let dy = requireGo(g);
    const dataPerm = [
      a,
      ...Array.from({ length: a }, (_, i) => i),
      ...Array.from({ length: r - a - 1 }, (_, i) => a + 1 + i),
    ];
    if (a !== 0) {
      const dyPerm = [
        ...Array.from({ length: q }, (_, i) => a + i),
        ...Array.from({ length: a }, (_, i) => i),
        ...Array.from({ length: r - a - 1 }, (_, i) => a + q + i),
      ];
      dy = g.emit('Transpose', [dy], { perm: attr.ints(dyPerm) });
    }
    const frontShape = a === 0 ? shapeData : g.emit('Gather', [shapeData, g.int64s(dataPerm)]);
    const type = g.dataType(data);
    const direct = a === 0 ? [g.gi(0)] : undefined;
    let front: string;
    if (g.opset >= 16) {
      const zeros = g.emit('ConstantOfShape', [frontShape], {
        value: attr.tensor({ dataType: type, dims: [1], values: [0] }),
      });
      const scatterInputs = [zeros, unsqueeze(g, indices, [-1]), dy];
      front = g.emit('ScatterND', scatterInputs, { reduction: attr.string('add') }, direct);
    } else {
      const ramp = g.emit('Range', [scalarInt64(g, 0), extent, scalarInt64(g, 1)]);
      const hot = g.emit('Equal', [unsqueeze(g, indices, [-1]), ramp]);
      const extent1 = unsqueeze(g, extent, [0]);
      const oneHot = g.emit('Reshape', [
        g.emit('Cast', [hot], { to: attr.int(type) }),
        g.emit('Concat', [g.int64s([-1]), extent1], { axis: attr.int(0) }),
      ]);
      const rest = unsqueeze(g, g.emit('Div', [g.emit('Size', [data]), extent]), [0]);
      const dy2 = g.emit('Reshape', [dy, g.emit('Concat', [g.int64s([-1]), rest], { axis: attr.int(0) })]);
      const product = g.emit('MatMul', [g.emit('Transpose', [oneHot], { perm: attr.ints([1, 0]) }), dy2]);
      front = g.emit('Reshape', [product, frontShape], {}, direct);
    }
    if (a === 0) return;
    const inverse = new Array<number>(r);
    dataPerm.forEach((p, i) => {
      inverse[p] = i;
    });
    g.emit('Transpose', [front], { perm: attr.ints(inverse) }, [g.gi(0)]);
  },
};
