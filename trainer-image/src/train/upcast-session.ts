// Opens a component's session in fp32 whatever its export's dtype: an fp16 graph is upcast (onnx/upcast-fp16.ts)
// and handed to onnxruntime from the pipeline folder, where its external fp16 weights are; fp32 graphs open as is.
import { rmSync } from 'node:fs';
import { dirname } from 'node:path';
import { loadModel } from '../onnx/codec.ts';
import { hasFp16, upcastFp16 } from '../onnx/upcast-fp16.ts';
import { Session, type SessionOptions } from '../runtime/session.ts';
import { sessionSource } from './training-graph.ts';

export async function openUpcast(
  path: string,
  pipelineDir: string,
  options: SessionOptions,
): Promise<Session> {
  const model = loadModel(path);
  if (!hasFp16(model)) return Session.create(path, options);
  const source = sessionSource(upcastFp16(model, dirname(path)), pipelineDir);
  try {
    return await Session.create(source, options);
  } finally {
    if (typeof source === 'string') rmSync(source, { force: true });
  }
}
