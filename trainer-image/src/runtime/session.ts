// The only module that touches onnxruntime-node: sessions from ONNX bytes or a path on the CPU (or CUDA when
// asked and present), fed and read with the project's own typed tensors so nothing else sees ORT types.
import { existsSync, realpathSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import * as ort from 'onnxruntime-node';

export type TypedData = Float32Array | Float64Array | BigInt64Array | Int32Array | Uint16Array | Uint8Array;

/** A tensor by ONNX data type number (1 FLOAT, 7 INT64, 10 FLOAT16 as raw bits, 11 DOUBLE, 6 INT32, 9 BOOL). */
export interface TypedTensor {
  readonly dataType: number;
  readonly dims: readonly number[];
  readonly data: TypedData;
}

export interface SessionOptions {
  readonly device?: 'cpu' | 'cuda';
  /** CPU threads for one op (default: onnxruntime's choice). */
  readonly intraOpThreads?: number;
  readonly optimization?: 'disabled' | 'basic' | 'extended' | 'all';
  /** onnxruntime's memory-pattern planner (default on); its planning time grows fast with long-lived tensors. */
  readonly memoryPattern?: boolean;
  /** The CPU memory arena (default on). */
  readonly cpuArena?: boolean;
  /**
   * onnxruntime's execution mode (default sequential). 'parallel' also takes another planning path that creates
   * large training graphs several times faster (bench/gradcheck/session-create.ts); `interOpThreads` bounds it.
   */
  readonly executionMode?: 'sequential' | 'parallel';
  /** Threads running independent nodes at once in 'parallel' mode (default: onnxruntime's choice). */
  readonly interOpThreads?: number;
  /** Extra session config entries ('session.…' keys of onnxruntime_session_options_config_keys.h). */
  readonly configEntries?: Readonly<Record<string, string>>;
}

const ORT_TYPES: Record<number, ort.Tensor.Type> = {
  1: 'float32',
  2: 'uint8',
  3: 'int8',
  6: 'int32',
  7: 'int64',
  9: 'bool',
  10: 'float16',
  11: 'float64',
};

function toOrtTensor(t: TypedTensor): ort.Tensor {
  const type = ORT_TYPES[t.dataType];
  if (!type) throw new Error(`unsupported feed data type ${t.dataType}`);
  return new ort.Tensor(type, t.data, [...t.dims]);
}

function fromOrt(name: string, t: ort.Tensor): TypedTensor {
  const entry = Object.entries(ORT_TYPES).find(([, v]) => v === t.type);
  if (!entry) throw new Error(`output '${name}': unsupported type ${t.type}`);
  const data = t.data;
  if (
    !(
      data instanceof Float32Array ||
      data instanceof Float64Array ||
      data instanceof BigInt64Array ||
      data instanceof Int32Array ||
      data instanceof Uint16Array ||
      data instanceof Uint8Array
    )
  ) {
    throw new Error(`output '${name}': unexpected data of type ${t.type}`);
  }
  return { dataType: Number(entry[0]), dims: [...t.dims], data };
}

/** Whether this onnxruntime build lists the CUDA execution provider (its library may still be missing). */
export function cudaAvailable(): boolean {
  try {
    if (!ort.listSupportedBackends().some((b) => b.name === 'cuda')) return false;
    // The package lists CUDA even in CPU-only installs; the provider library beside the binding is what counts
    // (without this check every session logs a failed dlopen before falling back to the CPU).
    // Resolved from the running program's entry file (bin/plateau.js, the trainer's main.ts, jest), whose
    // node_modules are the ones this process loaded, not from the working directory (plateau runs from anywhere).
    const packageJson = createRequire(realpathSync(process.argv[1] ?? '')).resolve(
      'onnxruntime-node/package.json',
    );
    const bindingDir = join(dirname(packageJson), 'bin', 'napi-v6', process.platform, process.arch);
    return existsSync(join(bindingDir, 'libonnxruntime_providers_cuda.so'));
  } catch {
    return false;
  }
}

/** Session options for a device preference: 'auto' (or unset) picks CUDA when its provider is installed. */
export function sessionOptionsFor(preference: {
  readonly device?: 'auto' | 'cuda' | 'cpu';
  readonly intraOpThreads?: number;
}): SessionOptions {
  const device =
    preference.device === 'auto' || preference.device === undefined
      ? cudaAvailable()
        ? 'cuda'
        : 'cpu'
      : preference.device;
  return { device, ...(preference.intraOpThreads ? { intraOpThreads: preference.intraOpThreads } : {}) };
}

export class Session {
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  /** Where it runs: 'cuda' only when asked for and the CUDA provider is present. */
  readonly device: 'cpu' | 'cuda';
  private readonly session: ort.InferenceSession;

  private constructor(session: ort.InferenceSession, device: 'cpu' | 'cuda') {
    this.session = session;
    this.device = device;
    this.inputNames = session.inputNames;
    this.outputNames = session.outputNames;
  }

  /**
   * Creates a session from model bytes (external data must then sit under the working directory) or a model
   * path (external data under the model's folder). CUDA falls back to the CPU when the provider is absent.
   */
  static async create(model: Uint8Array | string, options: SessionOptions = {}): Promise<Session> {
    const base: ort.InferenceSession.SessionOptions = {
      graphOptimizationLevel: options.optimization ?? 'all',
      logSeverityLevel: 3,
      ...(options.intraOpThreads ? { intraOpNumThreads: options.intraOpThreads } : {}),
      ...(options.executionMode ? { executionMode: options.executionMode } : {}),
      ...(options.interOpThreads ? { interOpNumThreads: options.interOpThreads } : {}),
      ...(options.memoryPattern === undefined ? {} : { enableMemPattern: options.memoryPattern }),
      ...(options.cpuArena === undefined ? {} : { enableCpuMemArena: options.cpuArena }),
      ...(options.configEntries ? { extra: { ...options.configEntries } } : {}),
    };
    const open = (providers: ort.InferenceSession.ExecutionProviderConfig[]) => {
      const sessionOptions = { ...base, executionProviders: providers };
      return typeof model === 'string'
        ? ort.InferenceSession.create(model, sessionOptions)
        : ort.InferenceSession.create(model, sessionOptions);
    };
    if (options.device === 'cuda' && cudaAvailable()) {
      try {
        return new Session(await open(['cuda', 'cpu']), 'cuda');
      } catch (error) {
        // The package lists CUDA even when its provider library is not installed (CPU-only images).
        if (!String(error).includes('Cuda')) throw error;
      }
    }
    return new Session(await open(['cpu']), 'cpu');
  }

  /** Runs with named feeds; returns the requested outputs (default: all). */
  async run(
    feeds: Readonly<Record<string, TypedTensor>>,
    outputs?: readonly string[],
  ): Promise<Record<string, TypedTensor>> {
    const ortFeeds: Record<string, ort.Tensor> = {};
    for (const [name, t] of Object.entries(feeds)) ortFeeds[name] = toOrtTensor(t);
    const result = outputs
      ? await this.session.run(ortFeeds, [...outputs])
      : await this.session.run(ortFeeds);
    const out: Record<string, TypedTensor> = {};
    for (const [name, t] of Object.entries(result)) out[name] = fromOrt(name, t);
    return out;
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}
