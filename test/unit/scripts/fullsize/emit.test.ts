// The generator's graphs against the graph files of a real TorchScript SD 1.5 export (test/fixtures/
// sd15-fullsize-graph): same inputs and outputs, the same weight-bearing ops and attention projections per kind,
// the published parameter counts of SD 1.5 and 2.1 — laid out as a dry run, no weights generated.
import { join } from 'node:path';
import { pipelineArch } from '../../../../scripts/fullsize/arch.ts';
import { emitTextEncoder } from '../../../../scripts/fullsize/text-encoder.ts';
import { emitUnet } from '../../../../scripts/fullsize/unet.ts';
import { emitVaeDecoder, emitVaeEncoder } from '../../../../scripts/fullsize/vae.ts';
import { WeightFile } from '../../../../scripts/fullsize/weight-file.ts';
import { loadModel } from '../../../../trainer-image/src/onnx/codec.ts';
import { DataType, elementCount, type OnnxModel } from '../../../../trainer-image/src/onnx/model.ts';
import { fixtureDir } from '../../../support/fixtures.ts';

const FIXTURE = fixtureDir('sd15-fullsize-graph');
const WEIGHT_OPS = ['MatMul', 'Gemm', 'Conv', 'InstanceNormalization', 'Softmax', 'Erf', 'Resize', 'Pad'];

const dry = () => new WeightFile(undefined, DataType.FLOAT, 0, 'test');
const fixture = (component: string) => loadModel(join(FIXTURE, component, 'model.onnx'));

function opCounts(model: OnnxModel): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const n of model.graph.nodes)
    if (WEIGHT_OPS.includes(n.opType)) counts[n.opType] = (counts[n.opType] ?? 0) + 1;
  return counts;
}

/** Projection MatMuls per kind (`attn2/to_k`, `ff/net.2`, `q_proj`…), found by module path as surgery finds them. */
function projections(model: OnnxModel): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const n of model.graph.nodes) {
    // The real text encoder's layers were traced from a loop: `/q_proj_3/MatMul` is layer 3's q_proj.
    const m = n.name.match(
      /\/(attn[12]\/to_(?:q|k|v|out\.0)|ff\/net\.(?:0\/proj|2)|[qkv]_proj|out_proj|fc[12])(?:_\d+)?\/MatMul$/,
    );
    if (n.opType === 'MatMul' && m?.[1]) counts[m[1]] = (counts[m[1]] ?? 0) + 1;
  }
  return counts;
}

const parameters = (model: OnnxModel) =>
  model.graph.initializers.reduce((s, t) => s + elementCount(t.dims), 0);
const signature = (model: OnnxModel) => ({
  inputs: model.graph.inputs.map((v) => [v.name, v.dataType, v.dims?.length]),
  outputs: model.graph.outputs.map((v) => [v.name, v.dataType, v.dims?.length]),
});

describe('the SD 1.5 generator against a real TorchScript export', () => {
  const a = pipelineArch('sd15');
  const cases: [string, () => OnnxModel][] = [
    ['unet', () => emitUnet(dry(), a.unet)],
    ['text_encoder', () => emitTextEncoder(dry(), a.textEncoder)],
    ['vae_encoder', () => emitVaeEncoder(dry(), a.vae)],
    ['vae_decoder', () => emitVaeDecoder(dry(), a.vae)],
  ];
  it.each(cases)('%s: same inputs, outputs, weight-bearing ops and projections', (component, emit) => {
    const generated = emit();
    const real = fixture(component);
    expect(signature(generated)).toEqual(signature(real));
    expect(opCounts(generated)).toEqual(opCounts(real));
    expect(projections(generated)).toEqual(projections(real));
    expect(generated.opsetImports).toEqual(real.opsetImports);
  });

  it('names nodes by module path and stores Linear weights as anonymous [in, out] initializers', () => {
    const unet = emitUnet(dry(), a.unet);
    const toK = unet.graph.nodes.find(
      (n) => n.name === '/m/down_blocks.0/attentions.0/transformer_blocks.0/attn2/to_k/MatMul',
    );
    const weight = unet.graph.initializers.find((t) => t.name === toK?.inputs[1]);
    expect(weight?.name).toMatch(/^onnx::MatMul_\d+$/);
    expect(weight?.dims).toEqual([768, 320]);
    expect(unet.graph.initializers.some((t) => t.name === 'm.conv_in.weight')).toBe(true);
  });

  it('has the published parameter counts (the fixture dedups identical norm weights, its README has the totals)', () => {
    expect(parameters(emitUnet(dry(), a.unet))).toBe(859_520_964);
    expect(parameters(emitTextEncoder(dry(), a.textEncoder))).toBe(123_060_480);
  });
});

describe('the SD 2.1 generator', () => {
  const a = pipelineArch('sd21');
  it('has SD 2.1 UNet and OpenCLIP-H text encoder sizes, head size 64 and Linear projections', () => {
    const unet = emitUnet(dry(), a.unet);
    expect(parameters(unet)).toBe(865_910_724);
    expect(parameters(emitTextEncoder(dry(), a.textEncoder))).toBe(340_387_840);
    expect(unet.graph.inputs.find((v) => v.name === 'encoder_hidden_states')?.dims).toEqual([
      'batch',
      77,
      1024,
    ]);
    expect(projections(unet)['attn2/to_k']).toBe(16);
    expect(unet.graph.nodes.filter((n) => /\/proj_in\/MatMul$/.test(n.name))).toHaveLength(16);
  });
});

describe('sd15-fullsize-graph', () => {
  it('loads without its weights: every large initializer stays an external reference', () => {
    const started = performance.now();
    const unet = fixture('unet');
    expect(performance.now() - started).toBeLessThan(10_000);
    expect(unet.graph.nodes).toHaveLength(8058);
    const external = unet.graph.initializers.filter((t) => t.data.kind === 'external');
    expect(external).toHaveLength(485);
    expect(external.reduce((s, t) => s + (t.data.kind === 'external' ? (t.data.length ?? 0) : 0), 0)).toBe(
      3_437_361_920,
    );
  });
});
