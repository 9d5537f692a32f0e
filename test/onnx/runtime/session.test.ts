/** @jest-environment ./test/onnx/support/onnx-environment.cjs */
// The onnxruntime wrapper: typed feeds in, typed outputs out, CUDA asked for on a CPU-only build falls back; the
// start-up options (parallel planning, memory pattern, arena, config entries) give the same results, bad ones throw.
import { encodeModel } from '../../../trainer-image/src/onnx/codec.ts';
import { GraphBuilder } from '../../../trainer-image/src/onnx/graph-builder.ts';
import { DataType } from '../../../trainer-image/src/onnx/model.ts';
import { cudaAvailable, Session } from '../../../trainer-image/src/runtime/session.ts';

describe('Session', () => {
  it('runs with typed int64 and float feeds', async () => {
    const model = new GraphBuilder()
      .input('ids', DataType.INT64, [3])
      .input('x', DataType.FLOAT, [3])
      .node('Cast', ['ids'], ['idsf'], { to: { type: 'int', value: DataType.FLOAT } })
      .node('Mul', ['idsf', 'x'], ['y'])
      .output('y', DataType.FLOAT, [3])
      .build();
    const session = await Session.create(encodeModel(model), { device: 'cuda' });
    expect(['cpu', 'cuda']).toContain(session.device);
    if (!cudaAvailable()) expect(session.device).toBe('cpu');
    expect(session.inputNames).toEqual(['ids', 'x']);
    const out = await session.run({
      ids: { dataType: DataType.INT64, dims: [3], data: new BigInt64Array([1n, 2n, 3n]) },
      x: { dataType: DataType.FLOAT, dims: [3], data: new Float32Array([0.5, 0.5, 2]) },
    });
    expect(out.y).toEqual({ dataType: DataType.FLOAT, dims: [3], data: new Float32Array([0.5, 1, 6]) });
    await session.release();
  });

  const branches = () =>
    new GraphBuilder()
      .input('x', DataType.FLOAT, [2, 2])
      .node('Exp', ['x'], ['a'])
      .node('Sigmoid', ['x'], ['b'])
      .node('MatMul', ['a', 'b'], ['y'])
      .output('y', DataType.FLOAT, [2, 2])
      .build();
  const feed = {
    x: { dataType: DataType.FLOAT, dims: [2, 2], data: new Float32Array([0.1, -0.2, 0.3, 0.4]) },
  };

  it.each([
    ['parallel execution', { executionMode: 'parallel', interOpThreads: 2 }],
    ['no memory pattern, no arena', { memoryPattern: false, cpuArena: false }],
    ['a session config entry', { configEntries: { 'session.disable_prepacking': '1' } }],
  ] as const)('gives the same outputs with %s', async (_, options) => {
    const reference = await Session.create(encodeModel(branches()), { intraOpThreads: 1 });
    const expected = await reference.run(feed);
    await reference.release();
    const session = await Session.create(encodeModel(branches()), { intraOpThreads: 1, ...options });
    expect(await session.run(feed)).toEqual(expected);
    await session.release();
  });

  it('hands config entries to onnxruntime (ONNX bytes read as the ORT format fail)', async () => {
    await expect(
      Session.create(encodeModel(branches()), { configEntries: { 'session.load_model_format': 'ORT' } }),
    ).rejects.toThrow();
  });
});
