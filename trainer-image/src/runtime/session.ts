// The only module that touches onnxruntime-node: sessions from ONNX bytes or a path on the CPU (or CUDA when
// asked and present), fed and read with the project's own typed tensors so nothing else sees ORT types.
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

/** Whether this onnxruntime build lists the CUDA execution provider. */
export function cudaAvailable(): boolean {
  try {
    const listed: unknown = (
      ort.env as unknown as { listSupportedBackends?: () => unknown }
    ).listSupportedBackends?.();
    return (
      Array.isArray(listed) &&
      listed.some((b) => typeof b === 'object' && b !== null && 'name' in b && b.name === 'cuda')
    );
  } catch {
    return false;
  }
}

export class Session {
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  private readonly session: ort.InferenceSession;

  private constructor(session: ort.InferenceSession) {
    this.session = session;
    this.inputNames = session.inputNames;
    this.outputNames = session.outputNames;
  }

  /** Creates a session from model bytes (external data resolves against the working directory) or a path. */
  static async create(model: Uint8Array | string, options: SessionOptions = {}): Promise<Session> {
    const providers: ort.InferenceSession.ExecutionProviderConfig[] =
      options.device === 'cuda' ? ['cuda', 'cpu'] : ['cpu'];
    const sessionOptions: ort.InferenceSession.SessionOptions = {
      executionProviders: providers,
      graphOptimizationLevel: options.optimization ?? 'all',
      logSeverityLevel: 3,
      ...(options.intraOpThreads ? { intraOpNumThreads: options.intraOpThreads } : {}),
    };
    const session =
      typeof model === 'string'
        ? await ort.InferenceSession.create(model, sessionOptions)
        : await ort.InferenceSession.create(model, sessionOptions);
    return new Session(session);
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
