// ONNX bytes ↔ IR: fixtures round-trip, typed payloads become raw bytes, external data stays a reference
// and is re-pointed relative to wherever the new model is written.
import { join, resolve } from 'node:path';
import { decodeModel, encodeModel, loadModel } from '../../../trainer-image/src/onnx/codec.ts';
import { GraphBuilder } from '../../../trainer-image/src/onnx/graph-builder.ts';
import { DataType } from '../../../trainer-image/src/onnx/model.ts';
import { tensorToConst } from '../../../trainer-image/src/onnx/tensor-values.ts';
import { FIXTURES_DIR } from '../../support/fixtures.ts';

const FIXTURES = FIXTURES_DIR;

describe('codec', () => {
  it('round-trips a fixture text encoder', () => {
    const model = loadModel(join(FIXTURES, 'tiny-sd', 'text_encoder', 'model.onnx'));
    expect(model.graph.inputs[0]).toEqual({
      name: 'input_ids',
      dataType: DataType.INT64,
      dims: ['batch', 77],
    });
    const again = decodeModel(encodeModel(model));
    expect(again.graph.nodes).toEqual(model.graph.nodes);
    expect(again.graph.initializers.map((t) => t.name)).toEqual(model.graph.initializers.map((t) => t.name));
    expect(again.opsetImports).toEqual([{ domain: '', version: 17 }]);
  });

  it('keeps constants exact through raw bytes', () => {
    const model = new GraphBuilder()
      .initializer('i', { dataType: DataType.INT64, dims: [3], values: [1n, -2n, 2n ** 40n] })
      .initializer('h', { dataType: DataType.FLOAT16, dims: [2], values: [0.5, -1.25] })
      .build();
    const [i, h] = decodeModel(encodeModel(model)).graph.initializers;
    expect(i && tensorToConst(i)?.values).toEqual([1n, -2n, 2n ** 40n]);
    expect(h && tensorToConst(h)?.values).toEqual([0.5, -1.25]);
  });

  it('re-points external data relative to the folder the new model is loaded from', () => {
    const weights = {
      name: 'w',
      dataType: DataType.FLOAT,
      dims: [1000],
      data: {
        kind: 'external',
        location: 'weights.pb',
        offset: 64,
        length: 4000,
        baseDir: '/models/sd/unet',
      },
    } as const;
    const model = new GraphBuilder().initializerTensor(weights).build();
    const written = decodeModel(encodeModel(model, { modelDir: '/tmp/job' }), '/tmp/job');
    expect(written.graph.initializers[0]?.data).toEqual({
      kind: 'external',
      location: '../../models/sd/unet/weights.pb',
      offset: 64,
      length: 4000,
      baseDir: resolve('/tmp/job'),
    });
  });
});
