// The phases of buildGradientGraph on their own, without onnxruntime: node ordering and its cycle error, the
// wrt → loss path, unbroadcast's static and run-time forms, fan-out sums (Concat for tiling Pads), and the
// final Identity renaming and pruning.
import { GradientEmitter } from '../../../trainer-image/src/autodiff/emitter.ts';
import { topologicalOrder } from '../../../trainer-image/src/autodiff/forward-graph.ts';
import { dropIdentities, pruneToOutputs } from '../../../trainer-image/src/autodiff/gradient-outputs.ts';
import { findGradientPath } from '../../../trainer-image/src/autodiff/gradient-path.ts';
import { GradientSum } from '../../../trainer-image/src/autodiff/gradient-sum.ts';
import { GradRegistry } from '../../../trainer-image/src/autodiff/registry.ts';
import { emitUnbroadcast } from '../../../trainer-image/src/autodiff/unbroadcast.ts';
import { DataType, type OnnxNode } from '../../../trainer-image/src/onnx/model.ts';
import type { InfoMap } from '../../../trainer-image/src/onnx/shape-inference.ts';
import type { Dim } from '../../../trainer-image/src/onnx/typed-values.ts';

const node = (name: string, opType: string, inputs: string[], outputs: string[]): OnnxNode => ({
  name,
  opType,
  domain: '',
  inputs,
  outputs,
  attributes: {},
});
const floatInfo = (entries: Record<string, Dim[]>): InfoMap =>
  new Map(Object.entries(entries).map(([k, dims]) => [k, { dataType: DataType.FLOAT, dims }]));

describe('topologicalOrder', () => {
  it('puts producers first and names a node on a cycle', () => {
    const b = node('b', 'Relu', ['t'], ['u']);
    const a = node('a', 'Relu', ['x'], ['t']);
    expect(topologicalOrder([b, a], new Set(['x'])).map((n) => n.name)).toEqual(['a', 'b']);
    const loop = [node('p', 'Relu', ['q_out'], ['p_out']), node('q', 'Relu', ['p_out'], ['q_out'])];
    expect(() => topologicalOrder(loop, new Set())).toThrow(/graph has a cycle through node '[pq]'/);
  });
});

describe('findGradientPath', () => {
  const rule = (opType: string, nonDifferentiableInputs?: number[]) => ({
    opType,
    ...(nonDifferentiableInputs ? { nonDifferentiableInputs } : {}),
    build: () => {},
  });
  const registry = () => new GradRegistry().register(rule('Mul')).register(rule('Reshape', [1]));
  const nodes = [
    node('shape', 'Shape', ['w'], ['s']),
    node('reshape', 'Reshape', ['x', 's'], ['r']),
    node('mul', 'Mul', ['r', 'w'], ['loss']),
    node('side', 'Mul', ['w', 'w'], ['unused']),
  ];

  it('keeps only nodes between wrt and the loss, through differentiable inputs', () => {
    const path = findGradientPath(nodes, registry(), 'loss', ['w']);
    expect(path.onPath.map((n) => n.name)).toEqual(['mul']);
    expect(path.relevant('w')).toBe(true);
    expect(path.relevant('s')).toBe(false);
    expect(path.relevant('unused')).toBe(false);
  });

  it('names the op and node without a rule, and a loss that does not vary', () => {
    const noMul = new GradRegistry().register(rule('Reshape', [1]));
    expect(() => findGradientPath(nodes, noMul, 'loss', ['w'])).toThrow(
      "no gradient rule for op Mul (node 'mul') on the path to 'loss'",
    );
    expect(() => findGradientPath(nodes, registry(), 's', ['w'])).toThrow(
      "loss 's' does not depend on any of 'w'",
    );
  });
});

describe('emitUnbroadcast', () => {
  const site = (info: InfoMap, opset = 17) => {
    const emitter = new GradientEmitter(info, opset, info.keys());
    return { emitter, node: node('add', 'Add', ['g', 'b'], ['y']), prefix: 'grad/add' };
  };

  it('sums the broadcast axes statically when the dims are known', () => {
    const s = site(floatInfo({ g: [4, 2, 3], b: [1, 3], c: [2, 3] }));
    emitUnbroadcast(s, 'g', 'b', 'db');
    emitUnbroadcast(s, 'g', 'c', 'dc');
    expect(s.emitter.nodes.map((n) => n.opType)).toEqual(['ReduceSum', 'Reshape', 'ReduceSum', 'Reshape']);
    expect(s.emitter.nodes[1]?.outputs).toEqual(['db']);
    expect(s.emitter.info.get('db')?.dims).toEqual([1, 3]);
  });

  it('binds an unbroadcast gradient with an Identity', () => {
    const s = site(floatInfo({ g: [2, 3], b: [2, 3] }));
    emitUnbroadcast(s, 'g', 'b', 'db');
    expect(s.emitter.nodes.map((n) => `${n.opType}:${n.inputs[0]}->${n.outputs[0]}`)).toEqual([
      'Identity:g->db',
    ]);
  });

  it('finds the axes at run time when a dim is unknown, and needs opset 13 for it', () => {
    const s = site(floatInfo({ g: ['batch', 3], b: [undefined, 3] }));
    emitUnbroadcast(s, 'g', 'b', 'db');
    const ops = s.emitter.nodes.map((n) => n.opType);
    expect(ops).toEqual([
      'Shape',
      'Shape',
      'Equal',
      'Equal',
      'Not',
      'And',
      'NonZero',
      'Reshape',
      'ReduceSum',
    ]);
    expect(s.emitter.nodes.at(-1)?.attributes.noop_with_empty_axes).toEqual({ type: 'int', value: 1 });
    expect(s.emitter.info.get('db')?.dims).toEqual([undefined, 3]);
    const old = site(floatInfo({ g: ['batch', 3], b: [undefined, 3] }), 12);
    expect(() => emitUnbroadcast(old, 'g', 'b', 'db')).toThrow(
      "Add node 'add': unbroadcast with unknown dims needs opset >= 13",
    );
  });
});

describe('GradientSum', () => {
  it('sums fan-out once, and concatenates zero Pads that tile one axis', () => {
    const emitter = new GradientEmitter(
      floatInfo({ t: [2, 6], a: [2, 6], b: [2, 6], p: [2, 2], q: [2, 4] }),
      17,
      ['t'],
    );
    const sums = new GradientSum(emitter, () => undefined);
    sums.add('t', 'a');
    sums.add('t', 'b');
    const total = sums.gradientOf('t');
    expect(emitter.nodes.map((n) => n.opType)).toEqual(['Sum']);
    expect(sums.gradientOf('t')).toBe(total);
    expect(emitter.info.get(total ?? '')?.dims).toEqual([2, 6]);

    const tiled = new GradientEmitter(floatInfo({ t: [2, 6], p: [2, 2], q: [2, 4] }), 17, ['t']);
    const padded = (piece: string, pads: number[]) =>
      tiled.emit('grad/x', 'Pad', [piece, tiled.int64s(pads)], 1)[0] ?? '';
    const chunks = new GradientSum(tiled, (name) =>
      name.startsWith('grad/const') ? constOf(tiled, name) : undefined,
    );
    chunks.add('t', padded('q', [0, 2, 0, 0]));
    chunks.add('t', padded('p', [0, 0, 0, 4]));
    chunks.gradientOf('t');
    const last = tiled.nodes.at(-1);
    expect(last?.opType).toBe('Concat');
    expect(last?.inputs).toEqual(['p', 'q']);
    expect(last?.attributes.axis).toEqual({ type: 'int', value: 1 });
  });
});

/** The value of a constant the emitter made (int64s), read back from its info. */
function constOf(emitter: GradientEmitter, name: string) {
  const sym = emitter.info.get(name)?.sym ?? [];
  return { dataType: DataType.INT64, dims: [sym.length], values: sym.map((v) => BigInt(Number(v))) };
}

describe('dropIdentities and pruneToOutputs', () => {
  it('renames uses through Identity chains, keeps an output Identity, and prunes what no output needs', () => {
    const grad = [
      node('i1', 'Identity', ['src'], ['mid']),
      node('i2', 'Identity', ['mid'], ['bound']),
      node('use', 'Neg', ['bound'], ['neg']),
      node('out', 'Identity', ['neg'], ['grad_w']),
      node('dead', 'Neg', ['src'], ['nobody']),
    ];
    const kept = dropIdentities(grad, new Set(['grad_w']));
    expect(kept.map((n) => n.name)).toEqual(['use', 'out', 'dead']);
    expect(kept[0]?.inputs).toEqual(['src']);
    const outputs = [{ name: 'grad_w', dataType: DataType.FLOAT, dims: [] }];
    const inputs = [
      { name: 'src', dataType: DataType.FLOAT, dims: [] },
      { name: 'w', dataType: DataType.FLOAT, dims: [] },
      { name: 'other', dataType: DataType.FLOAT, dims: [] },
    ];
    const pruned = pruneToOutputs(kept, [], inputs, outputs, ['w']);
    expect(pruned.nodes.map((n) => n.name)).toEqual(['use', 'out']);
    expect(pruned.inputs.map((v) => v.name)).toEqual(['src', 'w']);
  });
});
