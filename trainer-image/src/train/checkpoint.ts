// Checkpoints: everything needed to continue a run bit-for-bit — the trainable rows, the AdamW moments and
// step, the training RNG state, the deterministic-loss history (DVAR's input) and the step — as one JSON
// document with float32 arrays in base64 (exact), stored through the ArtifactStore under checkpoints/.
import { z } from 'zod';
import type { ArtifactStore } from '../../../shared/ports.ts';
import type { AdamWState } from './adamw.ts';
import type { RngState } from './rng.ts';

export const CHECKPOINT_PREFIX = 'checkpoints/';
const FORMAT = 'plateau-ti-checkpoint/1';

/** Settings a run's numbers depend on; a checkpoint made under different ones is refused. */
export type Fingerprint = Readonly<Record<string, string | number | boolean>>;

export interface DetLossPoint {
  readonly step: number;
  readonly loss: number;
}

export interface TrainState {
  /** Optimizer steps completed; the next step to train. */
  step: number;
  readonly rows: Float32Array;
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
  format: z.literal(FORMAT),
  step: z.number().int().min(0),
  rows: z.string(),
  adam: z.object({ step: z.number().int().min(0), m: z.string(), v: z.string() }),
  trainRng: z.tuple([uint32, uint32, uint32, uint32]),
  history: z.array(z.object({ step: z.number().int().min(0), loss: z.number() })),
  criterionStep: z.number().int().min(0).nullable(),
  stopReason: z.string().nullable(),
  fingerprint: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])),
});

function toBase64(values: Float32Array): string {
  const le = new Uint8Array(values.length * 4);
  const view = new DataView(le.buffer);
  for (let i = 0; i < values.length; i++) view.setFloat32(i * 4, values[i]!, true);
  return Buffer.from(le).toString('base64');
}

function fromBase64(text: string, what: string): Float32Array {
  const bytes = Buffer.from(text, 'base64');
  if (bytes.length % 4 !== 0) throw new Error(`checkpoint: ${what} is not a float32 array`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
  return Float32Array.from({ length: bytes.length / 4 }, (_, i) => view.getFloat32(i * 4, true));
}

export function encodeCheckpoint(state: TrainState): Uint8Array {
  const doc: z.infer<typeof checkpointSchema> = {
    format: FORMAT,
    step: state.step,
    rows: toBase64(state.rows),
    adam: { step: state.adam.step, m: toBase64(state.adam.m), v: toBase64(state.adam.v) },
    trainRng: [...state.trainRng],
    history: state.history.map((p) => ({ step: p.step, loss: p.loss })),
    criterionStep: state.criterionStep,
    stopReason: state.stopReason,
    fingerprint: { ...state.fingerprint },
  };
  return new TextEncoder().encode(JSON.stringify(doc));
}

export function decodeCheckpoint(bytes: Uint8Array, key = 'checkpoint'): TrainState {
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder().decode(bytes));
  } catch (error) {
    throw new Error(`${key}: not JSON (${error instanceof Error ? error.message : String(error)})`);
  }
  const parsed = checkpointSchema.safeParse(json);
  if (!parsed.success) throw new Error(`${key}: not a plateau checkpoint: ${z.prettifyError(parsed.error)}`);
  const doc = parsed.data;
  const rows = fromBase64(doc.rows, 'rows');
  const m = fromBase64(doc.adam.m, 'adam.m');
  const v = fromBase64(doc.adam.v, 'adam.v');
  if (m.length !== rows.length || v.length !== rows.length) {
    throw new Error(
      `${key}: AdamW moments do not match the rows (${m.length}, ${v.length} vs ${rows.length})`,
    );
  }
  return {
    step: doc.step,
    rows,
    adam: { step: doc.adam.step, m, v },
    trainRng: doc.trainRng,
    history: doc.history,
    criterionStep: doc.criterionStep,
    stopReason: doc.stopReason,
    fingerprint: doc.fingerprint,
  };
}

export function checkpointKey(step: number): string {
  return `${CHECKPOINT_PREFIX}step-${String(step).padStart(8, '0')}.json`;
}

export async function saveCheckpoint(store: ArtifactStore, state: TrainState): Promise<string> {
  const key = checkpointKey(state.step);
  await store.put(key, encodeCheckpoint(state), 'application/json');
  return key;
}

/** The checkpoint with the highest step, or undefined when there is none. */
export async function loadLatestCheckpoint(store: ArtifactStore): Promise<TrainState | undefined> {
  const steps = (await store.list(CHECKPOINT_PREFIX))
    .map((key) => /step-(\d+)\.json$/.exec(key))
    .filter((match): match is RegExpExecArray => match !== null)
    .map((match) => Number(match[1]));
  if (steps.length === 0) return undefined;
  const key = checkpointKey(Math.max(...steps));
  const bytes = await store.get(key);
  if (!bytes) throw new Error(`${key}: listed but not readable`);
  return decodeCheckpoint(bytes, key);
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
