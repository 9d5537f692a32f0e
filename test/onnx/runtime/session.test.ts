/** @jest-environment ./test/onnx/support/onnx-environment.cjs */
// The onnxruntime wrapper: typed feeds in, typed outputs out, CUDA asked for on a CPU-only build falls back.
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
});
