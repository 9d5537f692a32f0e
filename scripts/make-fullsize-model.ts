// `node scripts/make-fullsize-model.ts --arch sd15|sd21 [--dtype fp16] [--size tiny] [--seed N] --out <dir>`
// writes a random-weight SD 1.5 / 2.1 pipeline with the real dimensions (or the tiny CI size) in the diffusers
// ONNX layout, external data per component, TorchScript names. Never commit its output (use /work/cache/…).
import { parseArgs } from 'node:util';
import { writePipeline } from './fullsize/write-pipeline.ts';

const usage =
  'usage: node scripts/make-fullsize-model.ts --arch sd15|sd21 [--dtype fp32|fp16] [--size full|tiny] [--seed N] --out <dir>';
const { values } = parseArgs({
  options: {
    arch: { type: 'string' },
    dtype: { type: 'string', default: 'fp32' },
    size: { type: 'string', default: 'full' },
    seed: { type: 'string', default: '0' },
    out: { type: 'string' },
  },
});
const fail = (message: string): never => {
  process.stderr.write(`${message}\n${usage}\n`);
  process.exit(2);
};
const arch =
  values.arch === 'sd15' || values.arch === 'sd21' ? values.arch : fail('--arch must be sd15 or sd21');
const dtype =
  values.dtype === 'fp32' || values.dtype === 'fp16' ? values.dtype : fail('--dtype must be fp32 or fp16');
const size =
  values.size === 'full' || values.size === 'tiny' ? values.size : fail('--size must be full or tiny');
const seed = Number(values.seed);
if (!Number.isInteger(seed) || seed < 0) fail('--seed must be a non-negative integer');
const out = values.out ?? fail('--out is required');
const started = performance.now();
const summary = writePipeline({
  arch,
  dtype,
  size,
  seed,
  out,
  progress: (line) => process.stderr.write(`${line}\n`),
});
const total = summary.reduce((s, c) => s + c.dataBytes, 0);
process.stderr.write(
  `wrote ${arch} ${size} ${dtype} to ${out}: ${(total / 2 ** 30).toFixed(2)} GiB in ${((performance.now() - started) / 1000).toFixed(0)} s\n`,
);
process.stdout.write(`${JSON.stringify({ arch, size, dtype, seed, out, components: summary })}\n`);
