/** @jest-environment ./test/onnx/support/onnx-environment.cjs */
// Whole subgraphs as SD exports write them, differentiated by the real rules and checked against central finite
// differences: LayerNorm decomposed (opset 14), GELU via Erf, QuickGELU via Sigmoid, attention (MatMul, Softmax),
// GEGLU with Split or with Slices bounded at run time, GroupNorm as InstanceNormalization between Reshapes, and the
// textual-inversion embedding splice; opset 14 (SD 2-era TorchScript exports) beside 17/18 where the rules differ.
import { attr } from '../../../../trainer-image/src/autodiff/grad-rule.ts';
import type { GraphBuilder } from '../../../../trainer-image/src/onnx/graph-builder.ts';
import { DataType } from '../../../../trainer-image/src/onnx/model.ts';
import { expectGradientsMatch } from '../../support/finite-difference.ts';

const F64 = DataType.DOUBLE;
const scalar = (b: GraphBuilder, name: string, value: number, dataType: number = F64) =>
  b.initializer(name, { dataType, dims: [], values: [value] });

describe('SD export patterns', () => {
  it('LayerNorm decomposed into ReduceMean/Sub/Pow/Sqrt/Div (opset 14)', async () => {
    await expectGradientsMatch({
      opType: 'DecomposedLayerNorm',
      inputs: [{ dims: [2, 3, 6], range: [-2, 2] }, { dims: [6] }, { dims: [6] }],
      opset: 14,
      subgraph: (b, [x = '', w = '', bias = '']) => {
        scalar(b, 'two', 2);
        scalar(b, 'eps', 1e-5);
        const axes = { axes: attr.ints([-1]) };
        b.node('ReduceMean', [x], ['mean'], axes)
          .node('Sub', [x, 'mean'], ['d'])
          .node('Pow', ['d', 'two'], ['d2'])
          .node('ReduceMean', ['d2'], ['var'], axes)
          .node('Add', ['var', 'eps'], ['ve'])
          .node('Sqrt', ['ve'], ['std'])
          .node('Div', ['d', 'std'], ['n'])
          .node('Mul', ['n', w], ['nw'])
          .node('Add', ['nw', bias], ['y0']);
      },
    });
  });

  it('GELU via Erf: 0.5·x·(1 + erf(x/√2))', async () => {
    await expectGradientsMatch({
      opType: 'ErfGelu',
      inputs: [{ dims: [3, 5], range: [-3, 3] }],
      dtype: 'float32',
      subgraph: (b, [x = '']) => {
        const F = DataType.FLOAT;
        scalar(b, 'sqrt2', Math.SQRT2, F);
        scalar(b, 'one', 1, F);
        scalar(b, 'half', 0.5, F);
        b.node('Div', [x, 'sqrt2'], ['xs'])
          .node('Erf', ['xs'], ['e'])
          .node('Add', ['e', 'one'], ['e1'])
          .node('Mul', [x, 'e1'], ['xe'])
          .node('Mul', ['xe', 'half'], ['y0']);
      },
    });
  });

  it('QuickGELU via Sigmoid: x·σ(1.702x)', async () => {
    await expectGradientsMatch({
      opType: 'QuickGelu',
      inputs: [{ dims: [3, 5], range: [-3, 3] }],
      // float32: onnxruntime fuses this pattern into a float-only QuickGelu kernel even for doubles.
      dtype: 'float32',
      subgraph: (b, [x = '']) => {
        scalar(b, 'k', 1.702, DataType.FLOAT);
        b.node('Mul', [x, 'k'], ['kx']).node('Sigmoid', ['kx'], ['s']).node('Mul', [x, 's'], ['y0']);
      },
    });
  });

  it.each([14, 17])(
    'attention: softmax(q·kᵀ·scale)·v with heads split by Reshape/Transpose (opset %d)',
    async (opset) => {
      await expectGradientsMatch({
        opType: 'Attention',
        opset,
        inputs: [{ dims: [2, 3, 4] }, { dims: [2, 5, 4] }, { dims: [2, 5, 4] }],
        maxProbes: 24,
        subgraph: (b, [q = '', k = '', v = '']) => {
          scalar(b, 'scale', 1 / Math.sqrt(2));
          b.initializer('heads', { dataType: DataType.INT64, dims: [4], values: [0, 0, 2, 2] });
          b.initializer('merge', { dataType: DataType.INT64, dims: [3], values: [0, 0, 4] });
          const perm = { perm: attr.ints([0, 2, 1, 3]) };
          b.node('Reshape', [q, 'heads'], ['qh'])
            .node('Transpose', ['qh'], ['qt'], perm)
            .node('Reshape', [k, 'heads'], ['kh'])
            .node('Transpose', ['kh'], ['kt'], { perm: attr.ints([0, 2, 3, 1]) })
            .node('Reshape', [v, 'heads'], ['vh'])
            .node('Transpose', ['vh'], ['vt'], perm)
            .node('MatMul', ['qt', 'kt'], ['scores'])
            .node('Mul', ['scores', 'scale'], ['scaled'])
            .node('Softmax', ['scaled'], ['probs'], { axis: attr.int(-1) })
            .node('MatMul', ['probs', 'vt'], ['ctx'])
            .node('Transpose', ['ctx'], ['ctxT'], perm)
            .node('Reshape', ['ctxT', 'merge'], ['y0']);
        },
      });
    },
  );

  it('GEGLU: x·W split in two halves, a·gelu(b) (opset 18 Split)', async () => {
    await expectGradientsMatch({
      opType: 'Geglu',
      inputs: [{ dims: [2, 3] }, { dims: [3, 8], range: [-0.7, 0.7] }],
      dtype: 'float32',
      opset: 18,
      subgraph: (b, [x = '', w = '']) => {
        const F = DataType.FLOAT;
        scalar(b, 'sqrt2', Math.SQRT2, F);
        scalar(b, 'one', 1, F);
        scalar(b, 'half', 0.5, F);
        b.node('MatMul', [x, w], ['h'])
          .node('Split', ['h'], ['a', 'g'], { axis: attr.int(-1), num_outputs: attr.int(2) })
          .node('Div', ['g', 'sqrt2'], ['gs'])
          .node('Erf', ['gs'], ['e'])
          .node('Add', ['e', 'one'], ['e1'])
          .node('Mul', ['g', 'e1'], ['ge'])
          .node('Mul', ['ge', 'half'], ['gelu'])
          .node('Mul', ['a', 'gelu'], ['y0']);
      },
    });
  });

  it.each([14, 17])(
    'GroupNorm as InstanceNormalization between Reshapes, then per-channel affine (opset %d)',
    async (opset) => {
      await expectGradientsMatch({
        opType: 'GroupNorm',
        opset,
        inputs: [{ dims: [2, 4, 3, 3], range: [-2, 2] }, { dims: [4, 1, 1] }, { dims: [4, 1, 1] }],
        dtype: 'float32',
        subgraph: (b, [x = '', gamma = '', beta = '']) => {
          const F = DataType.FLOAT;
          b.initializer('grouping', { dataType: DataType.INT64, dims: [3], values: [0, 2, -1] });
          b.initializer('ones', { dataType: F, dims: [2], values: [1, 1] });
          b.initializer('zeros', { dataType: F, dims: [2], values: [0, 0] });
          b.node('Reshape', [x, 'grouping'], ['xg'])
            .node('InstanceNormalization', ['xg', 'ones', 'zeros'], ['ng'], { epsilon: attr.float(1e-5) })
            .node('Shape', [x], ['shape'])
            .node('Reshape', ['ng', 'shape'], ['n'])
            .node('Mul', ['n', gamma], ['ng2'])
            .node('Add', ['ng2', beta], ['y0']);
        },
      });
    },
  );

  it.each([14, 17])(
    'textual inversion: a trainable row spliced into a frozen table, gathered by ids (opset %d)',
    async (opset) => {
      await expectGradientsMatch({
        opType: 'EmbeddingSplice',
        opset,
        inputs: [
          { dims: [5, 4], constant: true },
          { dims: [1, 4] },
          { dims: [2, 3], values: [0, 5, 2, 5, 1, 5], dataType: DataType.INT64, check: false },
        ],
        subgraph: (b, [table = '', row = '', ids = '']) => {
          b.node('Concat', [table, row], ['grown'], { axis: attr.int(0) }).node(
            'Gather',
            ['grown', ids],
            ['y0'],
          );
        },
      });
    },
  );

  it('GEGLU chunked as TorchScript writes it: Slices with bounds computed from Shape (opset 14)', async () => {
    await expectGradientsMatch({
      opType: 'GegluSlices',
      inputs: [
        { dims: [2, 3], symbolic: true },
        { dims: [3, 8], range: [-0.7, 0.7] },
      ],
      dtype: 'float32',
      opset: 14,
      subgraph: (b, [x = '', w = '']) => {
        const I = DataType.INT64;
        b.initializer('last', { dataType: I, dims: [1], values: [-1] });
        b.initializer('zero', { dataType: I, dims: [1], values: [0] });
        b.initializer('two', { dataType: I, dims: [1], values: [2] });
        b.initializer('big', { dataType: I, dims: [1], values: [2 ** 62] });
        b.node('MatMul', [x, w], ['h'])
          .node('Shape', ['h'], ['hs'])
          .node('Gather', ['hs', 'last'], ['width'], { axis: attr.int(0) })
          .node('Div', ['width', 'two'], ['half'])
          .node('Slice', ['h', 'zero', 'half', 'last'], ['a'])
          .node('Slice', ['h', 'half', 'big', 'last'], ['g'])
          .node('Sigmoid', ['g'], ['sg'])
          .node('Mul', ['a', 'sg'], ['y0']);
      },
    });
  });
});
