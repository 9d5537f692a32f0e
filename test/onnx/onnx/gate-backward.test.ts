/** @jest-environment ./test/onnx/support/onnx-environment.cjs */
// gateBackward: one session serves the training step and the DVAR evaluation. With the flag set it gives the
// ungated graph's loss, and its gradient to float rounding (onnxruntime optimizes a branch on its own, so sums
// may run in another order); cleared, the same loss and a zero gradient.
import { gateBackward } from '../../../trainer-image/src/onnx/gate-backward.ts';
import { DataType } from '../../../trainer-image/src/onnx/model.ts';
import { Session, type TypedTensor } from '../../../trainer-image/src/runtime/session.ts';
import { buildTrainingGraph, sessionSource } from '../../../trainer-image/src/train/training-graph.ts';
import { fixtureDir } from '../../support/fixtures.ts';

const DIR = fixtureDir('tiny-sd15topo');
const BATCH = 2;

describe('gateBackward', () => {
  it('computes the gradient only when asked, and the same numbers as the ungated graph', async () => {
    const g = buildTrainingGraph(DIR, { batchSize: BATCH, frozenWeights: 'reference' });
    const gated = gateBackward(g.train, { ungated: [g.loss], gated: [g.gradient] });
    expect(gated.model.graph.nodes.filter((n) => n.opType === 'If')).toHaveLength(1);
    expect(gated.model.graph.nodes.length).toBeLessThan(g.train.graph.nodes.length);

    const side = g.hiddenSize;
    const latent = g.inputs.latents;
    const dims = g.train.graph.inputs.find((v) => v.name === latent)?.dims ?? [];
    const [, c, h, w] = dims.map((d) => (typeof d === 'number' ? d : 8));
    const n = BATCH * (c ?? 4) * (h ?? 8) * (w ?? 8);
    const ids = new BigInt64Array(BATCH * 77).fill(BigInt(g.vocabSize - 1));
    ids[1] = BigInt(g.placeholderIds[0] ?? 0);
    ids[78] = BigInt(g.placeholderIds[0] ?? 0);
    const feeds: Record<string, TypedTensor> = {
      [g.inputs.rows]: {
        dataType: DataType.FLOAT,
        dims: [1, side],
        data: Float32Array.from({ length: side }, (_, i) => Math.cos(i)),
      },
      [g.inputs.inputIds]: { dataType: g.inputDataTypes.inputIds, dims: [BATCH, 77], data: ids },
      [latent]: {
        dataType: DataType.FLOAT,
        dims: [BATCH, c ?? 4, h ?? 8, w ?? 8],
        data: Float32Array.from({ length: n }, (_, i) => Math.sin(i)),
      },
      [g.inputs.noise]: {
        dataType: DataType.FLOAT,
        dims: [BATCH, c ?? 4, h ?? 8, w ?? 8],
        data: Float32Array.from({ length: n }, (_, i) => Math.cos(0.3 * i)),
      },
      [g.inputs.timesteps]: {
        dataType: g.inputDataTypes.timesteps,
        dims: [BATCH],
        data: new BigInt64Array([10n, 700n]),
      },
    };
    const plain = await Session.create(sessionSource(g.train, g.modelDir), { intraOpThreads: 1 });
    const expected = await plain.run(feeds, [g.loss, g.gradient]);
    await plain.release();
    const session = await Session.create(sessionSource(gated.model, g.modelDir), { intraOpThreads: 1 });
    const flag = (on: boolean) => ({ dataType: DataType.BOOL, dims: [], data: new Uint8Array([on ? 1 : 0]) });
    const train = await session.run({ ...feeds, [gated.flag]: flag(true) }, [g.loss, g.gradient]);
    const evaluation = await session.run({ ...feeds, [gated.flag]: flag(false) }, [g.loss, g.gradient]);
    await session.release();
    expect(train[g.loss]?.data).toEqual(expected[g.loss]?.data);
    const got = train[g.gradient]?.data ?? new Float32Array(0);
    const want = expected[g.gradient]?.data ?? new Float32Array(0);
    let num = 0;
    let den = 0;
    for (let i = 0; i < side; i++) {
      num += (Number(got[i]) - Number(want[i])) ** 2;
      den += Number(want[i]) ** 2;
    }
    expect(got).toHaveLength(side);
    expect(Math.sqrt(num / den)).toBeLessThan(1e-5);
    expect(evaluation[g.loss]?.data).toEqual(expected[g.loss]?.data);
    expect(evaluation[g.gradient]?.data).toEqual(new Float32Array(side));
  }, 300_000);
});
