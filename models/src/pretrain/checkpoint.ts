// The pretraining checkpoint: one file = a JSON header (step, RNG states, losses, recipe) and the float32
// arrays (weights, AdamW moments, EMA weights), written to a temporary file and renamed so a crash never
// leaves a torn checkpoint. Resuming from it continues the run bit for bit.
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { z } from 'zod';

const MAGIC = 'PLATEAU-PRETRAIN-1\n';

const Header = z.object({
  step: z.number().int().nonnegative(),
  adamStep: z.number().int().nonnegative(),
  dataRng: z.array(z.number().int()).length(4),
  noiseRng: z.array(z.number().int()).length(4),
  losses: z.array(z.number()),
  cpuSeconds: z.number().nonnegative(),
  recipe: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])),
  size: z.number().int().nonnegative(),
});

export type PretrainHeader = z.infer<typeof Header>;

export interface PretrainState {
  readonly header: PretrainHeader;
  readonly weights: Float32Array;
  readonly m: Float32Array;
  readonly v: Float32Array;
  readonly ema: Float32Array;
}

export function saveCheckpoint(path: string, state: PretrainState): void {
  const header = Buffer.from(JSON.stringify(state.header));
  const lengths = Buffer.alloc(4);
  lengths.writeUInt32LE(header.length);
  const arrays = [state.weights, state.m, state.v, state.ema].map((a) =>
    Buffer.from(a.buffer, a.byteOffset, a.byteLength),
  );
  const tmp = `${path}.tmp`;
  writeFileSync(tmp, Buffer.concat([Buffer.from(MAGIC), lengths, header, ...arrays]));
  renameSync(tmp, path);
}

export function loadCheckpoint(path: string): PretrainState | undefined {
  if (!existsSync(path)) return undefined;
  const bytes = readFileSync(path);
  if (bytes.subarray(0, MAGIC.length).toString() !== MAGIC)
    throw new Error(`${path}: not a pretraining checkpoint`);
  const headerLength = bytes.readUInt32LE(MAGIC.length);
  const start = MAGIC.length + 4;
  const header = Header.parse(JSON.parse(bytes.subarray(start, start + headerLength).toString()));
  const n = header.size;
  const body = bytes.subarray(start + headerLength);
  if (body.length !== 16 * n)
    throw new Error(`${path}: expected ${16 * n} bytes of tensors, found ${body.length}`);
  // Copy into an aligned buffer (the body's offset in the file is arbitrary).
  const all = new Float32Array(new Uint8Array(body).buffer);
  return {
    header,
    weights: all.slice(0, n),
    m: all.slice(n, 2 * n),
    v: all.slice(2 * n, 3 * n),
    ema: all.slice(3 * n, 4 * n),
  };
}
