// `plateau gradcheck --method custom-diffusion`: the Custom Diffusion training graph (every attn2.to_k / to_v weight
// a graph input, fed the base weights) against PyTorch's float64 loss and gradients (golden-cd.safetensors), built
// twice: plain, and with the position-0 detach the trainer uses (its timings are the ones reported).
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readSafetensors, type SafetensorsFile, toFloat64 } from '../../shared/safetensors.ts';
import { DataType } from '../../trainer-image/src/onnx/model.ts';
import { Session, type TypedTensor } from '../../trainer-image/src/runtime/session.ts';
import { customDiffusion } from '../../trainer-image/src/train/methods/custom-diffusion.ts';
import { Rng } from '../../trainer-image/src/train/rng.ts';
import {
  buildTrainingGraph,
  sessionSource,
  type TrainingGraph,
} from '../../trainer-image/src/train/training-graph.ts';
import { floats, relativeError, tensor, tiFeeds, timed } from './gradcheck-support.ts';

export interface CdGradcheckResult {
  readonly pipeline: string;
  readonly method: 'custom-diffusion';
  /** attn2.to_k and attn2.to_v weights trained. */
  readonly modules: number;
  readonly parameters: number;
  readonly loss_rel_err: number;
  /** Max over modules of ‖ours − ref‖ / ‖ref‖ for d loss / d W, without the detach. */
  readonly grad_kv_rel_err: number;
  /** The same with K/V at token position 0 detached (what training runs). */
  readonly grad_kv_detach0_rel_err: number;
  readonly grad_placeholder_row_rel_err: number;
  readonly grad_placeholder_row_detach0_rel_err: number;
  readonly build_ms: number;
  readonly train_step_ms: number;
  readonly forward_ms: number;
  readonly unet_nodes: number;
  readonly grad_graph_nodes: number;
  readonly peak_rss_mb: number;
}

interface Checked {
  readonly graph: TrainingGraph;
  readonly loss: number;
  readonly kv: number;
  readonly row: number;
  readonly stepMs: number;
  readonly forwardMs: number;
}

const CD_DEFAULTS = {
  classWord: 'object',
  classImages: 0,
  priorPreservation: false,
  priorLossWeight: 1,
  maxGradNorm: 1,
};

/** Builds and runs one variant (`detach` = positions detached, 0 = plain) against its goldens. */
async function checkVariant(
  pipelineDir: string,
  golden: SafetensorsFile,
  cd: SafetensorsFile,
  detach: number,
  options: { readonly runs: number; readonly timing: boolean; readonly threads?: number },
): Promise<Checked> {
  const method = customDiffusion({ ...CD_DEFAULTS, detachPositions: detach });
  const batch = tensor(golden, 'ti.input_ids').shape[0];
  const graph = buildTrainingGraph(pipelineDir, {
    ...(batch === undefined ? {} : { batchSize: batch, forwardBatchSize: batch }),
    ...(method.unetSurgery ? { unetSurgery: method.unetSurgery } : {}),
  });
  const feeds: Record<string, TypedTensor> = { ...tiFeeds(graph, golden) };
  // The goldens are at the unchanged model: every K/V input is fed its base weight (the method draws nothing).
  const rng = Rng.forStream(0, 'init');
  for (const t of graph.methodTrainables) {
    feeds[t.name] = { dataType: DataType.FLOAT, dims: t.dims, data: method.initial(t, rng) };
  }
  for (const c of graph.constantFeeds) {
    const fed = feeds[c.feedFrom];
    if (!fed) throw new Error(`no feed for '${c.feedFrom}'`);
    feeds[c.name] = fed;
  }
  const sessionOptions = options.threads ? { intraOpThreads: options.threads } : {};
  const train = await Session.create(sessionSource(graph.train, graph.modelDir), sessionOptions);
  const step = await timed(train, feeds, options.timing ? options.runs : 0);
  await train.release();
  let forwardMs = -1;
  if (options.timing) {
    const forward = await Session.create(sessionSource(graph.forward, graph.modelDir), sessionOptions);
    forwardMs = (await timed(forward, feeds, options.runs)).ms;
    await forward.release();
  }
  const ref = (key: string): Float64Array => {
    const t = cd.tensors.get(key);
    if (!t) throw new Error(`golden-cd.safetensors has no '${key}'`);
    return toFloat64(t);
  };
  const family = detach > 0 ? 'cd64.detach0.' : 'cd64.';
  let kv = 0;
  for (const t of graph.methodTrainables) {
    const module = t.name.slice('kv.'.length);
    kv = Math.max(kv, relativeError(floats(step.outputs, t.gradient), ref(`${family}grad.${module}.weight`)));
  }
  const lossValue = floats(step.outputs, graph.loss)[0] ?? Number.NaN;
  return {
    graph,
    loss: relativeError([lossValue], [ref('cd64.loss')[0] ?? Number.NaN]),
    kv,
    row: relativeError(floats(step.outputs, graph.gradient), ref(`${family}grad_placeholder_row`)),
    stepMs: step.ms,
    forwardMs,
  };
}

export async function runCdGradcheck(
  pipelineDir: string,
  options: { readonly runs?: number; readonly timing?: boolean; readonly threads?: number } = {},
): Promise<CdGradcheckResult> {
  const paths = ['golden.safetensors', 'golden-cd.safetensors'].map((f) => join(pipelineDir, f));
  for (const path of paths) {
    if (!existsSync(path))
      throw new Error(`${path} not found: gradcheck needs the pipeline's golden PyTorch tensors`);
  }
  const [golden, cd] = paths.map((path) => readSafetensors(readFileSync(path))) as [
    SafetensorsFile,
    SafetensorsFile,
  ];
  const runs = Math.max(1, options.runs ?? 5);
  const timing = options.timing ?? true;
  const threads = options.threads === undefined ? {} : { threads: options.threads };
  const plain = await checkVariant(pipelineDir, golden, cd, 0, { runs, timing: false, ...threads });
  const detached = await checkVariant(pipelineDir, golden, cd, 1, { runs, timing, ...threads });
  const { graph } = detached;
  return {
    pipeline: pipelineDir,
    method: 'custom-diffusion',
    modules: graph.methodTrainables.length,
    parameters: graph.methodTrainables.reduce((n, t) => n + t.dims.reduce((a, b) => a * b, 1), 0),
    loss_rel_err: Math.max(plain.loss, detached.loss),
    grad_kv_rel_err: plain.kv,
    grad_kv_detach0_rel_err: detached.kv,
    grad_placeholder_row_rel_err: plain.row,
    grad_placeholder_row_detach0_rel_err: detached.row,
    build_ms: Math.round(graph.buildMs),
    train_step_ms: timing ? Number(detached.stepMs.toFixed(3)) : -1,
    forward_ms: Number(detached.forwardMs.toFixed(3)),
    unet_nodes: graph.unetNodes,
    grad_graph_nodes: graph.train.graph.nodes.length,
    peak_rss_mb: Math.round(process.resourceUsage().maxRSS / 1024),
  };
}
