/** @jest-environment ./test/onnx/support/onnx-environment.cjs */
// Custom Diffusion's K/V exposure run in onnxruntime on the three fixtures: fed the base weights ([out, in], read
// from the initializers) the UNet is unchanged, and the autodiff's K/V gradients match PyTorch's float64 cd64.*
// goldens, plain and with the token-position-0 detach (one graph: d/dW = d/d(trainable) + d/d(twin)).
import { buildGradientGraph } from '../../../trainer-image/src/autodiff/build-gradient-graph.ts';
import {
  CUSTOM_DIFFUSION_KINDS,
  findProjections,
} from '../../../trainer-image/src/onnx/attention-projections.ts';
import { encodeModel } from '../../../trainer-image/src/onnx/codec.ts';
import { exposeWeights } from '../../../trainer-image/src/onnx/expose-weights.ts';
import { GraphBuilder } from '../../../trainer-image/src/onnx/graph-builder.ts';
import { DataType, type OnnxModel } from '../../../trainer-image/src/onnx/model.ts';
import { readFloat32, transpose2d, weightOutIn } from '../../../trainer-image/src/onnx/weight-values.ts';
import { Session, type TypedTensor } from '../../../trainer-image/src/runtime/session.ts';
import {
  float64Of,
  forwardFeeds,
  loadGoldenUnet,
  relErr,
  stepFeeds,
  withMseLoss,
} from '../support/unet-golden.ts';

const FIXTURES = ['tiny-sd', 'tiny-sd-dynamo', 'tiny-sd15topo'] as const;

async function run(model: OnnxModel, feeds: Record<string, TypedTensor>) {
  const session = await Session.create(encodeModel(model), { intraOpThreads: 1 });
  try {
    return await session.run(feeds);
  } finally {
    await session.release();
  }
}

function floats(t: TypedTensor | undefined): Float32Array {
  if (!(t?.data instanceof Float32Array)) throw new Error('no float output');
  return t.data;
}

describe('exposeWeights', () => {
  it.each(FIXTURES)(
    '%s: fed the base weights, the UNet output is unchanged',
    async (fixture) => {
      const g = loadGoldenUnet(fixture);
      const projections = findProjections(g.model.graph, CUSTOM_DIFFUSION_KINDS, {
        nodeMetadata: g.nodeMetadata,
      });
      const exposed = exposeWeights(g.model.graph, projections, { detach: { positions: 1 } });
      expect(exposed.inputs).toHaveLength(projections.length);
      // The weights left the graph: no initializer holds them any more, so nothing is stored twice.
      const names = new Set(exposed.graph.initializers.map((t) => t.name));
      expect(projections.some((p) => names.has(p.weight))).toBe(false);
      const feeds = forwardFeeds(g);
      for (const w of exposed.weights) {
        expect(w.dims).toEqual(exposed.inputs.find((v) => v.name === w.input)?.dims);
        const data = weightOutIn(w.initializer, w.layout);
        feeds[w.input] = { dataType: DataType.FLOAT, dims: w.dims, data };
        if (w.detachedInput) feeds[w.detachedInput] = { dataType: DataType.FLOAT, dims: w.dims, data };
      }
      const base = floats(Object.values(await run(g.model, forwardFeeds(g)))[0]);
      const after = floats(Object.values(await run({ ...g.model, graph: exposed.graph }, feeds))[0]);
      expect(relErr(after, base)).toBeLessThan(1e-6);
    },
    300_000,
  );

  // tiny-sd15topo's K/V gradients are checked on the whole training graph by `plateau gradcheck --method
  // custom-diffusion` (test/onnx/train/cd-run.test.ts); here the two smaller exports check the twin's split.
  it.each(['tiny-sd', 'tiny-sd-dynamo'] as const)(
    '%s: K/V gradients, plain and detached at position 0, within 1e-4 of cd64.*',
    async (fixture) => {
      const g = loadGoldenUnet(fixture);
      const projections = findProjections(g.model.graph, CUSTOM_DIFFUSION_KINDS, {
        nodeMetadata: g.nodeMetadata,
      });
      const exposed = exposeWeights(g.model.graph, projections, { detach: { positions: 1 } });
      const wrt = [...exposed.inputs, ...exposed.constantInputs].map((v) => v.name);
      const grad = buildGradientGraph(
        { ...g.model, graph: withMseLoss(exposed.graph) },
        { loss: 'loss', wrt },
      );
      const feeds = stepFeeds(g);
      for (const w of exposed.weights) {
        const data = weightOutIn(w.initializer, w.layout);
        feeds[w.input] = { dataType: DataType.FLOAT, dims: w.dims, data };
        if (w.detachedInput) feeds[w.detachedInput] = { dataType: DataType.FLOAT, dims: w.dims, data };
      }
      const result = await run(grad.model, feeds);
      expect(relErr(floats(result.loss), float64Of(g.cd, 'cd64.loss'))).toBeLessThan(1e-4);
      let plain = 0;
      let detached = 0;
      for (const w of exposed.weights) {
        const own = floats(result[grad.gradients[w.input] ?? '']);
        const twin = floats(result[grad.gradients[w.detachedInput ?? ''] ?? '']);
        const sum = own.map((v, i) => v + (twin[i] ?? 0));
        plain = Math.max(plain, relErr(sum, float64Of(g.cd, `cd64.grad.${w.module}.weight`)));
        detached = Math.max(detached, relErr(own, float64Of(g.cd, `cd64.detach0.grad.${w.module}.weight`)));
      }
      expect(plain).toBeLessThan(1e-4);
      expect(detached).toBeLessThan(1e-4);
    },
    600_000,
  );

  it('tiny-sd-dynamo: without detach the K/V gradients are the plain ones', async () => {
    const g = loadGoldenUnet('tiny-sd-dynamo');
    const projections = findProjections(g.model.graph, CUSTOM_DIFFUSION_KINDS, {
      nodeMetadata: g.nodeMetadata,
    });
    const exposed = exposeWeights(g.model.graph, projections);
    expect(exposed.constantInputs).toEqual([]);
    const wrt = exposed.inputs.map((v) => v.name);
    const grad = buildGradientGraph({ ...g.model, graph: withMseLoss(exposed.graph) }, { loss: 'loss', wrt });
    const feeds = stepFeeds(g);
    for (const w of exposed.weights) {
      feeds[w.input] = { dataType: DataType.FLOAT, dims: w.dims, data: weightOutIn(w.initializer, w.layout) };
    }
    const result = await run(grad.model, feeds);
    for (const w of exposed.weights) {
      const own = floats(result[grad.gradients[w.input] ?? '']);
      expect(relErr(own, float64Of(g.cd, `cd64.grad.${w.module}.weight`))).toBeLessThan(1e-4);
    }
  }, 300_000);

  it('exposes Gemm and Transpose-form weights in [out, in] and casts for fp16; detach needs a MatMul', async () => {
    const at = '/m/mid_block/attentions.0/transformer_blocks.0/attn2';
    const w = (dims: number[], seed: number) => ({
      dataType: DataType.FLOAT16,
      dims,
      values: Array.from({ length: dims[0]! * dims[1]! }, (_, i) => Math.sin(i * seed) / 4),
    });
    const model = new GraphBuilder()
      .input('c', DataType.FLOAT16, [2, 3, 5])
      .input('x', DataType.FLOAT16, [3, 5])
      .initializer('wk', w([4, 5], 0.9))
      .initializer('wv', w([4, 5], 1.7))
      .node('Transpose', ['wk'], ['wk_t'], { perm: { type: 'ints', value: [1, 0] } })
      .node('MatMul', ['c', 'wk_t'], ['k'], {}, { name: `${at}/to_k/MatMul` })
      .node('Gemm', ['x', 'wv'], ['v'], { transB: { type: 'int', value: 1 } }, { name: `${at}/to_v/Gemm` })
      .node('Cast', ['k'], ['k32'], { to: { type: 'int', value: DataType.FLOAT } })
      .node('Cast', ['v'], ['v32'], { to: { type: 'int', value: DataType.FLOAT } })
      .output('k32', DataType.FLOAT, [2, 3, 4])
      .output('v32', DataType.FLOAT, [3, 4])
      .build(17);
    const projections = findProjections(model.graph, CUSTOM_DIFFUSION_KINDS);
    expect(() => exposeWeights(model.graph, projections, { detach: { positions: 1 } })).toThrow(/Gemm/);
    const exposed = exposeWeights(model.graph, projections);
    expect(exposed.graph.initializers).toHaveLength(0);
    expect(exposed.inputs.map((v) => v.dims)).toEqual([
      [4, 5],
      [4, 5],
    ]);
    const feeds: Record<string, TypedTensor> = {
      c: { dataType: DataType.FLOAT16, dims: [2, 3, 5], data: new Uint16Array(30).fill(0x3c00) },
      x: { dataType: DataType.FLOAT16, dims: [3, 5], data: new Uint16Array(15).fill(0x3c00) },
    };
    for (const e of exposed.weights) {
      feeds[e.input] = { dataType: DataType.FLOAT, dims: e.dims, data: weightOutIn(e.initializer, e.layout) };
    }
    const before = await run(model, feeds);
    const after = await run({ ...model, graph: exposed.graph }, feeds);
    expect([...floats(after.k32)]).toEqual([...floats(before.k32)]);
    expect([...floats(after.v32)]).toEqual([...floats(before.v32)]);
  });

  it('weightOutIn transposes [in, out] initializers and keeps [out, in] ones', () => {
    const t = {
      name: 'w',
      dataType: DataType.FLOAT,
      dims: [2, 3],
      data: { kind: 'raw' as const, bytes: new Uint8Array(new Float32Array([1, 2, 3, 4, 5, 6]).buffer) },
    };
    expect([...weightOutIn(t, 'in-out')]).toEqual([1, 4, 2, 5, 3, 6]);
    expect([...weightOutIn(t, 'out-in')]).toEqual([1, 2, 3, 4, 5, 6]);
    expect([...transpose2d(readFloat32(t), 2, 3)]).toEqual([1, 4, 2, 5, 3, 6]);
  });
});
