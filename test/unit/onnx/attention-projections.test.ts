// The projection finder against the fixtures' golden module tables (module, node, initializer, sizes) for the
// TorchScript and dynamo exports, the real SD 1.5 graph's counts and sizes, other weight forms, and fused graphs.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import {
  CUSTOM_DIFFUSION_KINDS,
  findProjections,
  LORA_TARGETS,
  PROJECTION_KINDS,
  type Projection,
} from '../../../trainer-image/src/onnx/attention-projections.ts';
import { loadModel } from '../../../trainer-image/src/onnx/codec.ts';
import { GraphBuilder } from '../../../trainer-image/src/onnx/graph-builder.ts';
import { DataType } from '../../../trainer-image/src/onnx/model.ts';
import { loadNodeMetadata } from '../../../trainer-image/src/onnx/node-metadata.ts';
import { fixtureDir, packageRoot } from '../../support/fixtures.ts';

const moduleTable = z.record(
  z.string(),
  z.object({ in: z.number(), out: z.number(), onnx_node: z.string(), onnx_initializer: z.string() }),
);

function golden(fixture: string, file: 'golden-lora.json' | 'golden-cd.json') {
  const raw: unknown = JSON.parse(readFileSync(join(fixtureDir(fixture), file), 'utf8'));
  return moduleTable.parse(z.object({ modules: z.unknown() }).parse(raw).modules);
}

function asTable(list: readonly Projection[]) {
  return Object.fromEntries(
    list.map((p) => [
      p.module,
      { in: p.inFeatures, out: p.outFeatures, onnx_node: p.node, onnx_initializer: p.weight },
    ]),
  );
}

function unet(fixture: string) {
  const path = join(fixtureDir(fixture), 'unet', 'model.onnx');
  return { graph: loadModel(path).graph, nodeMetadata: loadNodeMetadata(path) };
}

describe('findProjections', () => {
  it.each(['tiny-sd', 'tiny-sd-dynamo', 'tiny-sd15topo'])(
    '%s: exactly the golden module tables',
    (fixture) => {
      const { graph, nodeMetadata } = unet(fixture);
      const lora = findProjections(graph, LORA_TARGETS.attention, { nodeMetadata });
      const cd = findProjections(graph, CUSTOM_DIFFUSION_KINDS, { nodeMetadata });
      expect(asTable(lora)).toEqual(stripLayout(golden(fixture, 'golden-lora.json')));
      expect(asTable(cd)).toEqual(stripLayout(golden(fixture, 'golden-cd.json')));
      expect(lora.every((p) => p.weightLayout === 'in-out' && p.dataType === DataType.FLOAT)).toBe(true);
      const paper = findProjections(graph, LORA_TARGETS.paper, { nodeMetadata });
      expect(paper.length).toBe((lora.length / 8) * 9);
      expect(
        paper.filter((p) => p.kind === 'ff.net.0.proj').every((p) => p.outFeatures === 8 * p.inFeatures),
      ).toBe(true);
    },
  );

  it('a dynamo export without its node metadata is refused with a hint', () => {
    const { graph } = unet('tiny-sd-dynamo');
    expect(() => findProjections(graph, LORA_TARGETS.attention)).toThrow(/loadNodeMetadata/);
  });

  it('the full-size SD 1.5 TorchScript graph: 16 blocks, 144 / 128 / 32 projections and their sizes', () => {
    const { graph } = unet('sd15-fullsize-graph');
    const paper = findProjections(graph, LORA_TARGETS.paper);
    expect(paper).toHaveLength(144);
    expect(findProjections(graph, LORA_TARGETS.attention)).toHaveLength(128);
    const kv = findProjections(graph, CUSTOM_DIFFUSION_KINDS);
    expect(kv).toHaveLength(32);
    expect(new Set(kv.map((p) => p.inFeatures))).toEqual(new Set([768]));
    const widths = new Set(paper.map((p) => p.outFeatures).filter((o) => o <= 1280));
    expect(widths).toEqual(new Set([320, 640, 1280]));
    // Rank-4 LoRA parameters, as METHODS.md counts them: 1,246,464 (paper) and 797,184 (attention).
    const params = (list: readonly Projection[]) =>
      list.reduce((s, p) => s + 4 * (p.inFeatures + p.outFeatures), 0);
    expect(params(paper)).toBe(1_246_464);
    expect(params(paper.filter((p) => p.kind !== 'ff.net.0.proj'))).toBe(797_184);
    // 19.2 M Custom Diffusion parameters.
    expect(kv.reduce((s, p) => s + p.inFeatures * p.outFeatures, 0)).toBe(19_169_280);
    // diffusers module order: down_blocks, mid_block, up_blocks; attn1, attn2, ff inside a block.
    expect(paper[0]?.module).toBe('down_blocks.0.attentions.0.transformer_blocks.0.attn1.to_q');
    expect(paper.slice(0, 9).map((p) => p.kind)).toEqual([...PROJECTION_KINDS]);
    const blocks = [...new Set(paper.map((p) => p.module.split('.transformer_blocks')[0]))];
    expect(blocks).toEqual([
      'down_blocks.0.attentions.0',
      'down_blocks.0.attentions.1',
      'down_blocks.1.attentions.0',
      'down_blocks.1.attentions.1',
      'down_blocks.2.attentions.0',
      'down_blocks.2.attentions.1',
      'mid_block.attentions.0',
      'up_blocks.1.attentions.0',
      'up_blocks.1.attentions.1',
      'up_blocks.1.attentions.2',
      'up_blocks.2.attentions.0',
      'up_blocks.2.attentions.1',
      'up_blocks.2.attentions.2',
      'up_blocks.3.attentions.0',
      'up_blocks.3.attentions.1',
      'up_blocks.3.attentions.2',
    ]);
  });

  it('reads Gemm (transB) and Transpose-then-MatMul weights in PyTorch layout, fp16 included', () => {
    const at = '/unet/mid_block/attentions.0/transformer_blocks.0/attn2';
    const f = (dims: number[]) => ({
      dataType: DataType.FLOAT16,
      dims,
      values: new Array(dims[0]! * dims[1]!).fill(0),
    });
    const graph = new GraphBuilder()
      .input('x', DataType.FLOAT16, [2, 8])
      .input('c', DataType.FLOAT16, [2, 3, 6])
      .initializer('wk', f([4, 6]))
      .initializer('wv', f([6, 4]))
      .initializer('wq', f([4, 8]))
      .node('Transpose', ['wk'], ['wk_t'], { perm: { type: 'ints', value: [1, 0] } })
      .node('MatMul', ['c', 'wk_t'], ['k'], {}, { name: `${at}/to_k/MatMul` })
      .node('MatMul', ['c', 'wv'], ['v'], {}, { name: `${at}/to_v/MatMul` })
      .node('Gemm', ['x', 'wq'], ['q'], { transB: { type: 'int', value: 1 } }, { name: `${at}/to_q/Gemm` })
      .build(17).graph;
    const found = findProjections(graph, ['attn2.to_q', 'attn2.to_k', 'attn2.to_v']);
    expect(
      found.map((p) => [p.kind, p.opType, p.weightLayout, p.weightReader, p.inFeatures, p.outFeatures]),
    ).toEqual([
      ['attn2.to_q', 'Gemm', 'out-in', `${at}/to_q/Gemm`, 8, 4],
      ['attn2.to_k', 'MatMul', 'out-in', 'Transpose_0', 6, 4],
      ['attn2.to_v', 'MatMul', 'in-out', `${at}/to_v/MatMul`, 6, 4],
    ]);
    expect(found[0]?.module).toBe('mid_block.attentions.0.transformer_blocks.0.attn2.to_q');
    expect(found.every((p) => p.dataType === DataType.FLOAT16)).toBe(true);
    expect(() => findProjections(graph, ['attn2.to_k', 'attn2.to_out.0'])).toThrow(/has no attn2.to_out.0/);
  });

  it('refuses a graph whose attention onnxruntime fused, naming what it found', () => {
    const graph = new GraphBuilder()
      .input('x', DataType.FLOAT, [1, 4, 8])
      .node('MultiHeadAttention', ['x', 'x', 'x'], ['y'], {}, { domain: 'com.microsoft' })
      .node('MultiHeadAttention', ['y', 'y', 'y'], ['z'], {}, { domain: 'com.microsoft' })
      .build(17).graph;
    expect(() => findProjections(graph, LORA_TARGETS.paper)).toThrow(
      /fused by onnxruntime's optimizer \(found 2 × MultiHeadAttention \(com\.microsoft\)\)/,
    );
  });
});

function stripLayout(
  table: Record<string, { in: number; out: number; onnx_node: string; onnx_initializer: string }>,
) {
  return Object.fromEntries(
    Object.entries(table).map(([k, v]) => [
      k,
      { in: v.in, out: v.out, onnx_node: v.onnx_node, onnx_initializer: v.onnx_initializer },
    ]),
  );
}

describe("the embedded model's own naming (models/src/builder)", () => {
  const unet = loadModel(join(packageRoot(), 'models', 'plateau-world-32', 'unet', 'model.onnx')).graph;

  it('maps its cross-attention and feed-forward projections to diffusers paths (it has no self-attention)', () => {
    const paper = findProjections(unet, LORA_TARGETS.paper);
    expect(paper).toHaveLength(15);
    expect(paper.every((p) => p.kind.startsWith('attn2.') || p.kind === 'ff.net.0.proj')).toBe(true);
    expect(paper[0]).toMatchObject({
      module: 'down_blocks.1.attentions.0.transformer_blocks.0.attn2.to_q',
      node: 'unet.down1.attn.attn.q/MatMul_62',
      weight: 'unet.down1.attn.attn.q.weight',
    });
    expect(findProjections(unet, LORA_TARGETS.attention)).toHaveLength(12);
    const kv = findProjections(unet, CUSTOM_DIFFUSION_KINDS);
    expect(kv.map((p) => p.inFeatures)).toEqual([64, 64, 64, 64, 64, 64]);
  });
});
