/** @jest-environment ./test/onnx/support/onnx-environment.cjs */
// LoRA surgery run in onnxruntime on the three fixtures: with golden-lora's A and B the adapted UNet equals the UNet
// whose weights are merged (W + scale·B·A). Also: no base weight is copied, names are deterministic, a scale other
// than 1, and fp16 graphs.
import {
  findProjections,
  LORA_TARGETS,
  type Projection,
} from '../../../trainer-image/src/onnx/attention-projections.ts';
import { encodeModel } from '../../../trainer-image/src/onnx/codec.ts';
import { GraphBuilder } from '../../../trainer-image/src/onnx/graph-builder.ts';
import { addLoraAdapters } from '../../../trainer-image/src/onnx/lora.ts';
import {
  DataType,
  type OnnxGraph,
  type OnnxModel,
  type OnnxTensor,
} from '../../../trainer-image/src/onnx/model.ts';
import { readFloat32 } from '../../../trainer-image/src/onnx/weight-values.ts';
import { Session, type TypedTensor } from '../../../trainer-image/src/runtime/session.ts';
import {
  float32Feed,
  forwardFeeds,
  type GoldenUnet,
  loadGoldenUnet,
  relErr,
} from '../support/unet-golden.ts';

const FIXTURES = ['tiny-sd', 'tiny-sd-dynamo', 'tiny-sd15topo'] as const;

function loraFeeds(g: GoldenUnet, projections: readonly Projection[]): Record<string, TypedTensor> {
  const feeds: Record<string, TypedTensor> = {};
  for (const p of projections) {
    feeds[`lora.A.${p.module}`] = float32Feed(g.lora, `lora.A.${p.module}`);
    feeds[`lora.B.${p.module}`] = float32Feed(g.lora, `lora.B.${p.module}`);
  }
  return feeds;
}

/** The graph with each projection's [in, out] weight replaced by (W + scale·B·A)ᵀ. */
function mergedGraph(
  graph: OnnxGraph,
  projections: readonly Projection[],
  feeds: Record<string, TypedTensor>,
  scale: number,
) {
  const byWeight = new Map(projections.map((p) => [p.weight, p]));
  const initializers = graph.initializers.map((t): OnnxTensor => {
    const p = byWeight.get(t.name);
    if (!p) return t;
    const w = readFloat32(t);
    const a = feeds[`lora.A.${p.module}`]?.data as Float32Array;
    const b = feeds[`lora.B.${p.module}`]?.data as Float32Array;
    const rank = a.length / p.inFeatures;
    for (let i = 0; i < p.inFeatures; i++) {
      for (let o = 0; o < p.outFeatures; o++) {
        let d = 0;
        for (let r = 0; r < rank; r++) d += (b[o * rank + r] ?? 0) * (a[r * p.inFeatures + i] ?? 0);
        w[i * p.outFeatures + o] = (w[i * p.outFeatures + o] ?? 0) + scale * d;
      }
    }
    return { ...t, data: { kind: 'raw', bytes: new Uint8Array(w.buffer) } };
  });
  return { ...graph, initializers };
}

async function run(model: OnnxModel, feeds: Record<string, TypedTensor>, outputs?: string[]) {
  const session = await Session.create(encodeModel(model), { intraOpThreads: 1 });
  try {
    return await session.run(feeds, outputs);
  } finally {
    await session.release();
  }
}

function outSample(result: Record<string, TypedTensor>): Float32Array {
  const v = Object.values(result)[0]?.data;
  if (!(v instanceof Float32Array)) throw new Error('no float output');
  return v;
}

describe('addLoraAdapters', () => {
  it.each(FIXTURES)(
    '%s: the adapted UNet equals the merged-weight UNet',
    async (fixture) => {
      const g = loadGoldenUnet(fixture);
      const projections = findProjections(g.model.graph, LORA_TARGETS.attention, {
        nodeMetadata: g.nodeMetadata,
      });
      const feeds = { ...forwardFeeds(g), ...loraFeeds(g, projections) };
      const base = outSample(await run(g.model, forwardFeeds(g)));
      for (const scale of fixture === 'tiny-sd' ? [1, 0.5] : [1]) {
        const lora = addLoraAdapters(g.model.graph, projections, { rank: 4, scale });
        const adapted = outSample(await run({ ...g.model, graph: lora.graph }, feeds));
        const merged = outSample(
          await run(
            { ...g.model, graph: mergedGraph(g.model.graph, projections, feeds, scale) },
            forwardFeeds(g),
          ),
        );
        expect(relErr(adapted, merged)).toBeLessThan(1e-5);
        // Not vacuous: the adapters move the output.
        expect(relErr(base, merged)).toBeGreaterThan(1e-3);
      }
    },
    300_000,
  );

  // The loss and A/B gradients against PyTorch's float64 goldens (lora64.*) are checked on the whole training graph
  // (text encoder + UNet + loss) by `plateau gradcheck --method dreambooth-lora`: test/onnx/train/lora-run.test.ts.

  it('copies no base weight, adds only adapter nodes with deterministic names, and declares A/B inputs', () => {
    const g = loadGoldenUnet('tiny-sd');
    const projections = findProjections(g.model.graph, LORA_TARGETS.paper);
    const once = addLoraAdapters(g.model.graph, projections, { rank: 4, scale: 1 });
    const twice = addLoraAdapters(g.model.graph, projections, { rank: 4, scale: 1 });
    const bytes = (graph: OnnxGraph) => Buffer.from(encodeModel({ ...g.model, graph }));
    expect(bytes(once.graph).equals(bytes(twice.graph))).toBe(true);
    expect(once.graph.initializers).toHaveLength(g.model.graph.initializers.length);
    expect(once.graph.initializers.every((t, i) => t === g.model.graph.initializers[i])).toBe(true);
    expect(once.graph.nodes.length - g.model.graph.nodes.length).toBe(5 * projections.length);
    const p = projections[0]!;
    expect(once.inputs.slice(0, 2)).toEqual([
      { name: `lora.A.${p.module}`, dataType: DataType.FLOAT, dims: [4, p.inFeatures] },
      { name: `lora.B.${p.module}`, dataType: DataType.FLOAT, dims: [p.outFeatures, 4] },
    ]);
    const named = addLoraAdapters(g.model.graph, projections.slice(0, 1), {
      rank: 2,
      scale: 1,
      names: (m) => ({ a: `down:${m}`, b: `up:${m}` }),
    });
    expect(named.inputs.map((v) => v.name)).toEqual([`down:${p.module}`, `up:${p.module}`]);
    expect(() => addLoraAdapters(g.model.graph, [p, p], { rank: 4, scale: 1 })).toThrow(/listed twice/);
  });

  it('casts the fp32 trainables to an fp16 graph’s type, and keeps a Gemm’s bias', async () => {
    const at = '/m/mid_block/attentions.0/transformer_blocks.0';
    const half = (dims: number[], seed: number) => ({
      dataType: DataType.FLOAT16,
      dims,
      values: Array.from({ length: dims[0]! * dims[1]! }, (_, i) => Math.sin(i * seed) / 4),
    });
    const model = new GraphBuilder()
      .input('x', DataType.FLOAT16, [3, 6])
      .initializer('wq', half([6, 4], 1.3))
      .initializer('wk', half([4, 6], 0.7))
      .initializer('bk', half([1, 4], 2.1))
      .node('MatMul', ['x', 'wq'], ['q'], {}, { name: `${at}/attn1/to_q/MatMul` })
      .node(
        'Gemm',
        ['x', 'wk', 'bk'],
        ['k'],
        { transB: { type: 'int', value: 1 } },
        { name: `${at}/attn1/to_k/Gemm` },
      )
      .node('Concat', ['q', 'k'], ['qk_half'], { axis: { type: 'int', value: 1 } })
      .node('Cast', ['qk_half'], ['qk'], { to: { type: 'int', value: DataType.FLOAT } })
      .output('qk', DataType.FLOAT, [3, 8])
      .build(17);
    const projections = findProjections(model.graph, ['attn1.to_q', 'attn1.to_k']);
    const lora = addLoraAdapters(model.graph, projections, { rank: 2, scale: 2 });
    expect(lora.graph.nodes.filter((n) => n.opType === 'Cast')).toHaveLength(5);
    const x = Array.from({ length: 18 }, (_, i) => Math.cos(i) / 2);
    const a = new Float32Array([0.1, -0.2, 0.3, 0.05, 0.2, -0.1, 0.4, 0.3, -0.3, 0.2, 0.1, 0.0]);
    const b = new Float32Array([0.5, -0.25, 0.125, 0.75, -0.5, 0.25, 1, 0.5]);
    const feeds: Record<string, TypedTensor> = {
      x: { dataType: DataType.FLOAT16, dims: [3, 6], data: Uint16Array.from(x, toHalfBits) },
    };
    for (const p of projections) {
      feeds[`lora.A.${p.module}`] = { dataType: DataType.FLOAT, dims: [2, 6], data: a };
      feeds[`lora.B.${p.module}`] = { dataType: DataType.FLOAT, dims: [4, 2], data: b };
    }
    const got = (await run({ ...model, graph: lora.graph }, feeds)).qk?.data as Float32Array;
    // Reference in float64 from the fp16-rounded x and weights: y = x·Wᵀ (+ b) + 2·(x·Aᵀ)·Bᵀ.
    const xr = x.map((v) => fromHalfBits(toHalfBits(v)));
    const wq = half([6, 4], 1.3).values.map((v) => fromHalfBits(toHalfBits(v)));
    const wk = half([4, 6], 0.7).values.map((v) => fromHalfBits(toHalfBits(v)));
    const bk = half([1, 4], 2.1).values.map((v) => fromHalfBits(toHalfBits(v)));
    for (let r = 0; r < 3; r++) {
      const down = [0, 1].map((k) =>
        [0, 1, 2, 3, 4, 5].reduce((s, i) => s + xr[r * 6 + i]! * a[k * 6 + i]!, 0),
      );
      for (let o = 0; o < 4; o++) {
        const delta = 2 * (down[0]! * b[o * 2]! + down[1]! * b[o * 2 + 1]!);
        const q = [0, 1, 2, 3, 4, 5].reduce((s, i) => s + xr[r * 6 + i]! * wq[i * 4 + o]!, 0);
        const k = [0, 1, 2, 3, 4, 5].reduce((s, i) => s + xr[r * 6 + i]! * wk[o * 6 + i]!, 0) + bk[o]!;
        expect(got[r * 8 + o]).toBeCloseTo(q + delta, 2);
        expect(got[r * 8 + 4 + o]).toBeCloseTo(k + delta, 2);
      }
    }
  });
});

function toHalfBits(v: number): number {
  const f = new Float32Array([v]);
  const x = new Uint32Array(f.buffer)[0]!;
  const sign = (x >>> 16) & 0x8000;
  const e = ((x >>> 23) & 0xff) - 127 + 15;
  if (e <= 0) return sign;
  return sign | (e << 10) | (((x & 0x7fffff) + 0x1000) >>> 13);
}

function fromHalfBits(h: number): number {
  const e = (h >>> 10) & 0x1f;
  const m = h & 0x3ff;
  const s = h & 0x8000 ? -1 : 1;
  return e === 0 ? s * m * 2 ** -24 : s * (1 + m / 1024) * 2 ** (e - 15);
}
