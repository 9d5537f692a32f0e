// Recorded fixed-budget runs on disk, so a rerun (another rule, another chart, a second process) reads the run
// instead of training it again. One pair of files per run, named by a hash of every setting that changes it:
// `<id>-<hash>.json` (losses, step costs, layout) and `<id>-<hash>.f32` (the packed weights after 0 … cap updates).
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { RecordedRun } from './record-run.ts';

/** The settings a run depends on; serialized for the hash (image pixels enter through the concept's id). */
export type RecordKey = { readonly concept: string } & Readonly<Record<string, unknown>>;

const FORMAT = 1;

function fileStem(key: RecordKey): string {
  const json = JSON.stringify({ format: FORMAT, ...key }, (_k, v) =>
    v instanceof Float32Array || (Array.isArray(v) && typeof v[0] === 'object') ? undefined : v,
  );
  return `${key.concept}-${createHash('sha256').update(json).digest('hex').slice(0, 16)}`;
}

interface StoredRun {
  readonly conceptId: string;
  readonly hiddenSize: number;
  readonly cap: number;
  readonly losses: number[];
  readonly trainLosses: number[];
  readonly evalMs: number;
  readonly trainMs: number;
  readonly wallMs: number;
  readonly lr: number;
  readonly methodTensors: { name: string; dims: number[] }[];
  /** Values per step in the .f32 file. */
  readonly size: number;
}

export function saveRecord(dir: string, key: RecordKey, run: RecordedRun): void {
  mkdirSync(dir, { recursive: true });
  const stem = join(dir, fileStem(key));
  const size = run.paramsAt(0).length;
  const all = new Float32Array(size * (run.cap + 1));
  for (let s = 0; s <= run.cap; s++) all.set(run.paramsAt(s), s * size);
  const stored: StoredRun = {
    conceptId: run.conceptId,
    hiddenSize: run.hiddenSize,
    cap: run.cap,
    losses: [...run.losses],
    trainLosses: [...run.trainLosses],
    evalMs: run.evalMs,
    trainMs: run.trainMs,
    wallMs: run.wallMs,
    lr: run.lr,
    methodTensors: run.methodTensors.map((t) => ({ name: t.name, dims: [...t.dims] })),
    size,
  };
  // Weights first, the JSON last and renamed into place: a run is cached only once both are whole.
  writeFileSync(`${stem}.f32`, new Uint8Array(all.buffer, all.byteOffset, all.byteLength));
  writeFileSync(`${stem}.json.tmp`, JSON.stringify({ key, run: stored }));
  renameSync(`${stem}.json.tmp`, `${stem}.json`);
}

export function hasRecord(dir: string, key: RecordKey): boolean {
  return existsSync(`${join(dir, fileStem(key))}.json`);
}

export function loadRecord(dir: string, key: RecordKey): RecordedRun | undefined {
  const stem = join(dir, fileStem(key));
  if (!existsSync(`${stem}.json`)) return undefined;
  const { run } = JSON.parse(readFileSync(`${stem}.json`, 'utf8')) as { run: StoredRun };
  const bytes = readFileSync(`${stem}.f32`);
  if (bytes.byteLength !== run.size * (run.cap + 1) * 4) {
    throw new Error(`${stem}.f32: ${bytes.byteLength} bytes, expected ${run.size * (run.cap + 1) * 4}`);
  }
  const all = new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
  return {
    ...run,
    paramsAt(step) {
      if (!Number.isInteger(step) || step < 0 || step > run.cap)
        throw new RangeError(`no recorded weights at step ${step} (0 … ${run.cap})`);
      return all.subarray(step * run.size, (step + 1) * run.size);
    },
  };
}

/** A run's identity curve under `settings` (checks' prompts, sampler), beside the run's own files. */
export interface CachedCurve {
  readonly curve: { readonly step: number; readonly identity: number }[];
  readonly checkMs: number;
}

function curvePath(dir: string, key: RecordKey, settings: Readonly<Record<string, unknown>>): string {
  const hash = createHash('sha256').update(JSON.stringify(settings)).digest('hex').slice(0, 12);
  return join(dir, `${fileStem(key)}.curve-${hash}.json`);
}

export function loadCurve(
  dir: string,
  key: RecordKey,
  settings: Readonly<Record<string, unknown>>,
): CachedCurve | undefined {
  const path = curvePath(dir, key, settings);
  return existsSync(path) ? (JSON.parse(readFileSync(path, 'utf8')) as CachedCurve) : undefined;
}

export function saveCurve(
  dir: string,
  key: RecordKey,
  settings: Readonly<Record<string, unknown>>,
  curve: CachedCurve,
): void {
  const path = curvePath(dir, key, settings);
  writeFileSync(`${path}.tmp`, JSON.stringify(curve));
  renameSync(`${path}.tmp`, path);
}

/** Full quality scores of a run's steps under `settings` (prompts, sampler), beside the run's own files. */
export type CachedScores = Record<
  string,
  { identity: number; alignment: number; contextIdentity: number; ms: number }
>;

function scoresPath(dir: string, key: RecordKey, settings: Readonly<Record<string, unknown>>): string {
  const hash = createHash('sha256').update(JSON.stringify(settings)).digest('hex').slice(0, 12);
  return join(dir, `${fileStem(key)}.scores-${hash}.json`);
}

export function loadScores(
  dir: string,
  key: RecordKey,
  settings: Readonly<Record<string, unknown>>,
): CachedScores {
  const path = scoresPath(dir, key, settings);
  return existsSync(path) ? (JSON.parse(readFileSync(path, 'utf8')) as CachedScores) : {};
}

export function saveScores(
  dir: string,
  key: RecordKey,
  settings: Readonly<Record<string, unknown>>,
  scores: CachedScores,
): void {
  const path = scoresPath(dir, key, settings);
  writeFileSync(`${path}.tmp`, JSON.stringify(scores));
  renameSync(`${path}.tmp`, path);
}
