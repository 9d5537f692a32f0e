// Checkpoints: everything needed to continue a run bit-for-bit — the packed trainable tensors, the AdamW moments
// and step, the training RNG state, the deterministic-loss history (DVAR's input) and the step. Written as one
// safetensors file (three F32 arrays + the rest as JSON metadata), so millions of parameters stay compact and
// exact; the earlier JSON format (base64 arrays) is still read.
import { endianness } from 'node:os';
import { z } from 'zod';
import type { ArtifactStore } from '../../../shared/ports.ts';
import { readSafetensors, type SafeTensor, writeSafetensors } from '../../../shared/safetensors.ts';
import type { AdamWState } from './adamw.ts';
import type { RngState } from './rng.ts';

export const CHECKPOINT_PREFIX = 'checkpoints/';
const JSON_FORMAT = 'plateau-ti-checkpoint/1';
const BINARY_FORMAT = 'plateau-checkpoint/2';
/** The metadata key holding everything but the three arrays. */
const STATE_KEY = 'plateau.checkpoint';

/** Settings a run's numbers depend on; a checkpoint made under different ones is refused. */
export type Fingerprint = Readonly<Record<string, string | number | boolean>>;

export interface DetLossPoint {
  readonly step: number;
  readonly loss: number;
}

export interface TrainState {
  /** Optimizer steps completed; the next step to train. */
  step: number;
  /** Every trainable tensor, packed (trainables.ts). */
  readonly params: Float32Array;
  readonly adam: AdamWState;
  trainRng: RngState;
  readonly history: DetLossPoint[];
  /** First step at which the in-process criterion held, if it did. */
  criterionStep: number | null;
  /** Why the run stopped, when this checkpoint was written at the stop. */
  stopReason: string | null;
  readonly fingerprint: Fingerprint;
}

const uint32 = z.number().int().min(0).max(0xffffffff);
const checkpointSchema = z.object({
  format: z.literal(JSON_FORMAT),
  step: z.number().int().min(0),
  rows: z.string(),
  adam: z.object({ step: z.number().int().min(0), m: z.string(), v: z.string() }),
  trainRng: z.tuple([uint32, uint32, uint32, uint32]),
  history: z.array(z.object({ step: z.number().int().min(0), loss: z.number() })),
  criterionStep: z.number().int().min(0).nullable(),
  stopReason: z.string().nullable(),
  fingerprint: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])),
});

function fromBase64(text: string, what: string): Float32Array {
  const bytes = Buffer.from(text, 'base64');
  if (bytes.length % 4 !== 0) throw new Error(`checkpoint: ${what} is not a float32 array`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
  return Float32Array.from({ length: bytes.length / 4 }, (_, i) => view.getFloat32(i * 4, true));
}

const stateSchema = z.object({
  format: z.literal(BINARY_FORMAT),
  step: z.number().int().min(0),
  adamStep: z.number().int().min(0),
  trainRng: z.tuple([uint32, uint32, uint32, uint32]),
  history: z.array(z.object({ step: z.number().int().min(0), loss: z.number() })),
  criterionStep: z.number().int().min(0).nullable(),
  stopReason: z.string().nullable(),
  fingerprint: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])),
});

const f32 = (data: Float32Array) => ({ dtype: 'F32' as const, shape: [data.length], data });

export function encodeCheckpoint(state: TrainState): Uint8Array {
  const doc: z.infer<typeof stateSchema> = {
    format: BINARY_FORMAT,
    step: state.step,
    adamStep: state.adam.step,
    trainRng: [...state.trainRng],
    history: state.history.map((p) => ({ step: p.step, loss: p.loss })),
    criterionStep: state.criterionStep,
    stopReason: state.stopReason,
    fingerprint: { ...state.fingerprint },
  };
  return writeSafetensors(
    { params: f32(state.params), 'adam.m': f32(state.adam.m), 'adam.v': f32(state.adam.v) },
    { [STATE_KEY]: JSON.stringify(doc) },
  );
}

/** The F32 tensor `name`, copied bit for bit (the file is little-endian, as is every host we run on). */
function float32Tensor(tensors: ReadonlyMap<string, SafeTensor>, name: string, key: string): Float32Array {
  const t = tensors.get(name);
  if (t?.dtype !== 'F32') throw new Error(`${key}: no F32 tensor '${name}'`);
  if (endianness() !== 'LE') throw new Error('checkpoints are read on little-endian hosts only');
  return new Float32Array(t.bytes.slice().buffer);
}

function decodeBinary(bytes: Uint8Array, key: string): TrainState {
  const file = readSafetensors(bytes);
  const meta = file.metadata[STATE_KEY];
  if (meta === undefined) throw new Error(`${key}: not a plateau checkpoint (no ${STATE_KEY} metadata)`);
  const parsed = stateSchema.safeParse(JSON.parse(meta));
  if (!parsed.success) throw new Error(`${key}: not a plateau checkpoint: ${z.prettifyError(parsed.error)}`);
  const doc = parsed.data;
  const params = float32Tensor(file.tensors, 'params', key);
  const m = float32Tensor(file.tensors, 'adam.m', key);
  const v = float32Tensor(file.tensors, 'adam.v', key);
  if (m.length !== params.length || v.length !== params.length) {
    throw new Error(
      `${key}: AdamW moments do not match the parameters (${m.length}, ${v.length} vs ${params.length})`,
    );
  }
  return {
    step: doc.step,
    params,
    adam: { step: doc.adamStep, m, v },
    trainRng: doc.trainRng,
    history: doc.history,
    criterionStep: doc.criterionStep,
    stopReason: doc.stopReason,
    fingerprint: doc.fingerprint,
  };
}

/** The earlier JSON checkpoint (plateau-ti-checkpoint/1: base64 float32 arrays). */
function decodeJson(bytes: Uint8Array, key: string): TrainState {
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder().decode(bytes));
  } catch (error) {
    throw new Error(`${key}: not JSON (${error instanceof Error ? error.message : String(error)})`);
  }
  const parsed = checkpointSchema.safeParse(json);
  if (!parsed.success) throw new Error(`${key}: not a plateau checkpoint: ${z.prettifyError(parsed.error)}`);
  const doc = parsed.data;
  const params = fromBase64(doc.rows, 'rows');
  const m = fromBase64(doc.adam.m, 'adam.m');
  const v = fromBase64(doc.adam.v, 'adam.v');
  if (m.length !== params.length || v.length !== params.length) {
    throw new Error(
      `${key}: AdamW moments do not match the rows (${m.length}, ${v.length} vs ${params.length})`,
    );
  }
  return {
    step: doc.step,
    params,
    adam: { step: doc.adam.step, m, v },
    trainRng: doc.trainRng,
    history: doc.history,
    criterionStep: doc.criterionStep,
    stopReason: doc.stopReason,
    fingerprint: doc.fingerprint,
  };
}

/** Reads either format: a JSON document starts with '{', a safetensors file with its 8-byte header length. */
export function decodeCheckpoint(bytes: Uint8Array, key = 'checkpoint'): TrainState {
  return bytes[0] === 0x7b ? decodeJson(bytes, key) : decodeBinary(bytes, key);
}

export function checkpointKey(step: number): string {
  return `${CHECKPOINT_PREFIX}step-${String(step).padStart(8, '0')}.safetensors`;
}

/** Checkpoint keys end in .safetensors (written now) or .json (written by earlier versions). */
const CHECKPOINT_KEY = /step-(\d+)\.(safetensors|json)$/;

export async function saveCheckpoint(store: ArtifactStore, state: TrainState): Promise<string> {
  const key = checkpointKey(state.step);
  await store.put(key, encodeCheckpoint(state), 'application/octet-stream');
  return key;
}

/** The checkpoint with the highest step (either format), or undefined when there is none. */
export async function loadLatestCheckpoint(store: ArtifactStore): Promise<TrainState | undefined> {
  let latest: { key: string; step: number; binary: boolean } | undefined;
  for (const key of await store.list(CHECKPOINT_PREFIX)) {
    const match = CHECKPOINT_KEY.exec(key);
    if (!match) continue;
    const found = { key, step: Number(match[1]), binary: match[2] === 'safetensors' };
    // At equal steps the binary one wins (a run resumed from a JSON checkpoint rewrites it in the new format).
    if (!latest || found.step > latest.step || (found.step === latest.step && found.binary)) latest = found;
  }
  if (!latest) return undefined;
  const bytes = await store.get(latest.key);
  if (!bytes) throw new Error(`${latest.key}: listed but not readable`);
  return decodeCheckpoint(bytes, latest.key);
}

/** Throws when a checkpoint was made under settings that change the run's numbers. */
export function assertSameFingerprint(saved: Fingerprint, current: Fingerprint): void {
  const keys = new Set([...Object.keys(saved), ...Object.keys(current)]);
  const differing = [...keys].filter((k) => saved[k] !== current[k]);
  if (differing.length > 0) {
    const detail = differing.map((k) => `${k}: ${String(saved[k])} → ${String(current[k])}`).join(', ');
    throw new Error(`cannot resume: the checkpoint was made with different settings (${detail})`);
  }
}
