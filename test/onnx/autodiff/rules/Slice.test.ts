/** @jest-environment ./test/onnx/support/onnx-environment.cjs */
// Slice's gradient against central finite differences: unit steps with static pads, negative and out-of-range
// indices, symbolic dims and run-time starts (pads computed in the graph), and steps 2 and −1 (scatter path); a
// chunk whose bounds are shape arithmetic that shape inference folds (TorchScript's chunk) gets static pads; slices
// that tile an axis (GEGLU's two halves) have their gradients concatenated instead of padded and summed.
import { buildGradientGraph } from '../../../../trainer-image/src/autodiff/build-gradient-graph.ts';
import { GraphBuilder } from '../../../../trainer-image/src/onnx/graph-builder.ts';
import { DataType } from '../../../../trainer-image/src/onnx/model.ts';
import { expectGradientsMatch } from '../../support/finite-difference.ts';

const ints = (v: number[], constant = true) => ({
  dims: [v.length],
  values: v,
  dataType: DataType.INT64,
  constant,
  check: false,
});

describe('Slice gradient', () => {
  it('matches finite differences with unit steps on two axes', async () => {
    await expectGradientsMatch({
      opType: 'Slice',
      inputs: [{ dims: [4, 5, 3] }, ints([1, 1]), ints([3, 4]), ints([0, 1])],
    });
  });

  it('matches finite differences with negative and out-of-range indices, no axes', async () => {
    await expectGradientsMatch({
      opType: 'Slice',
      inputs: [{ dims: [4, 5] }, ints([-3, 2]), ints([1000, -1])],
    });
  });

  it('matches finite differences with symbolic dims and run-time starts/ends', async () => {
    await expectGradientsMatch({
      opType: 'Slice',
      inputs: [{ dims: [4, 6], symbolic: true }, ints([1, -4], false), ints([3, 9], false), ints([0, 1])],
    });
  });

  it('matches finite differences with steps 2 and -1', async () => {
    await expectGradientsMatch({
      opType: 'Slice',
      inputs: [{ dims: [5, 4] }, ints([0, -1]), ints([5, -1000]), ints([0, 1]), ints([2, -1])],
    });
  });

  it('matches finite differences with a step and run-time ends', async () => {
    await expectGradientsMatch({
      opType: 'Slice',
      inputs: [{ dims: [3, 7], symbolic: true }, ints([1], false), ints([6], false), ints([1]), ints([2])],
    });
  });

  /** x[:, half:] with half = shape(x)[1] / 2 computed in the graph, as TorchScript exports chunk. */
  const chunk = (b: GraphBuilder, x: string, out: string): void => {
    b.initializer('axis1', { dataType: DataType.INT64, dims: [], values: [1n] })
      .initializer('two', { dataType: DataType.INT64, dims: [], values: [2n] })
      .initializer('axes', { dataType: DataType.INT64, dims: [1], values: [1n] })
      .initializer('axis0', { dataType: DataType.INT64, dims: [1], values: [0n] })
      .initializer('big', { dataType: DataType.INT64, dims: [1], values: [1000n] })
      .node('Shape', [x], ['shape'])
      .node('Gather', ['shape', 'axis1'], ['width'], { axis: { type: 'int', value: 0 } })
      .node('Div', ['width', 'two'], ['half'])
      .node('Unsqueeze', ['half', 'axis0'], ['start'])
      .node('Slice', [x, 'start', 'big', 'axes'], [out]);
  };

  it('matches finite differences for a chunk with bounds computed from the shape', async () => {
    await expectGradientsMatch({
      opType: 'SliceChunk',
      inputs: [{ dims: [3, 8] }],
      subgraph: (b, [x = '']) => chunk(b, x, 'y0'),
    });
  });

  it('gives a chunk with folded bounds static pads (no run-time index arithmetic)', () => {
    const b = new GraphBuilder('chunk');
    b.input('x', DataType.FLOAT, ['batch', 8]);
    chunk(b, 'x', 'y');
    b.node('ReduceSum', ['y'], ['loss'], { keepdims: { type: 'int', value: 0 } }).output(
      'loss',
      DataType.FLOAT,
      [],
    );
    const { model } = buildGradientGraph(b.build(17), { loss: 'loss', wrt: ['x'] });
    const ops = model.graph.nodes.filter((n) => n.name.startsWith('grad/')).map((n) => n.opType);
    expect(ops).toContain('Pad');
    for (const op of ['Gather', 'Where', 'ScatterElements', 'Max']) expect(ops).not.toContain(op);
  });

  /** x sliced on axis 1 at [from, to) for each range, the pieces multiplied (GEGLU: h · σ(gate)) into y0. */
  const pieces = (b: GraphBuilder, x: string, ranges: readonly [number, number][]): void => {
    b.initializer('axis', { dataType: DataType.INT64, dims: [1], values: [1n] });
    ranges.forEach(([from, to], i) => {
      b.initializer(`from${i}`, { dataType: DataType.INT64, dims: [1], values: [BigInt(from)] })
        .initializer(`to${i}`, { dataType: DataType.INT64, dims: [1], values: [BigInt(to)] })
        .node('Slice', [x, `from${i}`, `to${i}`, 'axis'], [`piece${i}`]);
    });
    b.node('Sigmoid', ['piece1'], ['gate']).node('Mul', ['piece0', 'gate'], ['y0']);
  };

  it.each([
    [
      'halves',
      [
        [0, 4],
        [4, 8],
      ],
    ],
    [
      'halves read gate first',
      [
        [4, 8],
        [0, 4],
      ],
    ],
    [
      'overlapping (summed)',
      [
        [0, 5],
        [3, 8],
      ],
    ],
    [
      'leaving a gap (summed)',
      [
        [0, 3],
        [5, 8],
      ],
    ],
  ] as [string, [number, number][]][])(
    'matches finite differences for slices sharing an input (%s)',
    async (_, ranges) => {
      await expectGradientsMatch({
        opType: 'SlicePieces',
        inputs: [{ dims: [3, 8] }],
        subgraph: (b, [x = '']) => pieces(b, x, ranges),
      });
    },
  );

  it('concatenates the gradients of slices that tile an axis instead of padding and summing them', () => {
    const build = (ranges: [number, number][]) => {
      const b = new GraphBuilder('geglu');
      b.input('x', DataType.FLOAT, ['batch', 8]);
      pieces(b, 'x', ranges);
      b.node('ReduceSum', ['y0'], ['loss'], { keepdims: { type: 'int', value: 0 } }).output(
        'loss',
        DataType.FLOAT,
        [],
      );
      const { model } = buildGradientGraph(b.build(17), { loss: 'loss', wrt: ['x'] });
      return model.graph.nodes.filter((n) => n.name.startsWith('grad/')).map((n) => n.opType);
    };
    const tiled = build([
      [4, 8],
      [0, 4],
    ]);
    expect(tiled).toContain('Concat');
    expect(tiled).not.toContain('Pad');
    expect(tiled).not.toContain('Sum');
    const overlapping = build([
      [0, 5],
      [3, 8],
    ]);
    expect(overlapping.filter((op) => op === 'Pad')).toHaveLength(2);
    expect(overlapping).toContain('Sum');
  });
});
