// Which fusions the training graph's forward keeps (issue 3, ratio target): opens the loss-only and the training
// session of one fixture with onnxruntime's full optimization, has it write the optimized graphs
// (optimizedModelFilePath), and prints the node count per op type (domain-qualified) for both, side by side. An
// op the forward graph fuses (Gelu, QuickGelu, FusedMatMul, …) that the training graph keeps apart shows up as
// a lower count there and its unfused pieces (Erf, Sigmoid, Mul, …) as higher ones.
// Usage: node bench/gradcheck/opt-ops.ts [--threads N] [--fixtures DIR] [--keep DIR] [fixture]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { loadModel } from '../../trainer-image/src/onnx/codec.ts';
import { buildTrainingGraph, sessionSource } from '../../trainer-image/src/train/training-graph.ts';
import { benchArgs } from './bench-args.ts';

const args = benchArgs(['--threads', '--keep']);
const threads = args.number('--threads', 1);
const fixtures = args.fixtures;
const keep = args.value('--keep');
const name = args.names[0] ?? 'tiny-sd15topo';

const graphs = buildTrainingGraph(join(fixtures, name));
const outDir = keep ?? mkdtempSync(join(tmpdir(), 'plateau-opt-ops-'));
const counts: Record<'forward' | 'train', Map<string, number>> = { forward: new Map(), train: new Map() };
for (const side of ['forward', 'train'] as const) {
  const path = join(outDir, `${name}-${side}.optimized.onnx`);
  const source = sessionSource(graphs[side], graphs.modelDir);
  const options: ort.InferenceSession.SessionOptions = {
    graphOptimizationLevel: 'all',
    logSeverityLevel: 3,
    intraOpNumThreads: threads,
    executionProviders: ['cpu'],
    optimizedModelFilePath: path,
  };
  const session =
    typeof source === 'string'
      ? await ort.InferenceSession.create(source, options)
      : await ort.InferenceSession.create(source, options);
  await session.release();
  for (const node of loadModel(path).graph.nodes) {
    const key = node.domain ? `${node.domain}:${node.opType}` : node.opType;
    counts[side].set(key, (counts[side].get(key) ?? 0) + 1);
  }
}
if (keep === undefined) rmSync(outDir, { recursive: true, force: true });

const ops = [...new Set([...counts.forward.keys(), ...counts.train.keys()])].sort();
console.log(`${'op'.padEnd(36)} ${'forward'.padStart(8)} ${'train'.padStart(8)}`);
for (const op of ops) {
  const f = counts.forward.get(op) ?? 0;
  const t = counts.train.get(op) ?? 0;
  console.log(`${op.padEnd(36)} ${String(f).padStart(8)} ${String(t).padStart(8)}`);
}
