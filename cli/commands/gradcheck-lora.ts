// `plateau gradcheck --method dreambooth-lora`: the DreamBooth-LoRA training graph (our surgery + autodiff, LoRA on
// the 8 attention projections as the goldens were made) fed the golden A/B values, against PyTorch's float64 loss
// and gradients for every A, B and the placeholder row (golden-lora.safetensors): the max relative error per family.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readSafetensors, toFloat32, toFloat64 } from '../../shared/safetensors.ts';
import { DataType } from '../../trainer-image/src/onnx/model.ts';
import { Session, type TypedTensor } from '../../trainer-image/src/runtime/session.ts';
import { dreamboothLora } from '../../trainer-image/src/train/methods/dreambooth-lora.ts';
import { buildTrainingGraph, sessionSource } from '../../trainer-image/src/train/training-graph.ts';
import { floats, relativeError, tensor, tiFeeds, timed } from './gradcheck-support.ts';

export interface LoraGradcheckResult {
  readonly pipeline: string;
  readonly method: 'dreambooth-lora';
  readonly modules: number;
  readonly loss_rel_err: number;
  /** Max over modules of ‖ours − ref‖ / ‖ref‖ for d loss / d A. */
  readonly grad_lora_A_rel_err: number;
  readonly grad_lora_B_rel_err: number;
  readonly grad_placeholder_row_rel_err: number;
  readonly build_ms: number;
  readonly train_step_ms: number;
  readonly forward_ms: number;
  readonly unet_nodes: number;
  readonly grad_graph_nodes: number;
  readonly peak_rss_mb: number;
}

export async function runLoraGradcheck(
  pipelineDir: string,
  options: { readonly runs?: number; readonly timing?: boolean; readonly threads?: number } = {},
): Promise<LoraGradcheckResult> {
  const runs = Math.max(1, options.runs ?? 5);
  const timing = options.timing ?? true;
  const paths = ['golden.safetensors', 'golden-lora.safetensors'].map((f) => join(pipelineDir, f));
  for (const path of paths) {
    if (!existsSync(path))
      throw new Error(`${path} not found: gradcheck needs the pipeline's golden PyTorch tensors`);
  }
  const [golden, lora] = paths.map((path) => readSafetensors(readFileSync(path))) as [
    ReturnType<typeof readSafetensors>,
    ReturnType<typeof readSafetensors>,
  ];
  // The goldens put rank-4, alpha-4 LoRA on the attention projections (diffusers' convention).
  const method = dreamboothLora({ rank: 4, alpha: 4, targets: 'attention' });
  const batch = tensor(golden, 'ti.input_ids').shape[0];
  const graph = buildTrainingGraph(pipelineDir, {
    ...(batch === undefined ? {} : { batchSize: batch, forwardBatchSize: batch }),
    ...(method.unetSurgery ? { unetSurgery: method.unetSurgery } : {}),
  });
  const feeds: Record<string, TypedTensor> = { ...tiFeeds(graph, golden) };
  for (const t of graph.methodTrainables) {
    const given = lora.tensors.get(t.name);
    if (!given)
      throw new Error(`golden-lora.safetensors has no '${t.name}' (the surgery found a module it lacks)`);
    feeds[t.name] = { dataType: DataType.FLOAT, dims: t.dims, data: toFloat32(given) };
  }
  const sessionOptions = options.threads ? { intraOpThreads: options.threads } : {};
  const train = await Session.create(sessionSource(graph.train, graph.modelDir), sessionOptions);
  const step = await timed(train, feeds, timing ? runs : 0);
  await train.release();
  let forwardMs = -1;
  if (timing) {
    const forward = await Session.create(sessionSource(graph.forward, graph.modelDir), sessionOptions);
    forwardMs = (await timed(forward, feeds, runs)).ms;
    await forward.release();
  }
  const ref = (key: string) => {
    const t = lora.tensors.get(key);
    if (!t) throw new Error(`golden-lora.safetensors has no '${key}'`);
    return toFloat64(t);
  };
  let gradA = 0;
  let gradB = 0;
  for (const t of graph.methodTrainables) {
    const isA = t.name.startsWith('lora.A.');
    const module = t.name.slice('lora.A.'.length);
    const err = relativeError(
      floats(step.outputs, t.gradient),
      ref(`lora64.grad.${isA ? 'A' : 'B'}.${module}`),
    );
    if (isA) gradA = Math.max(gradA, err);
    else gradB = Math.max(gradB, err);
  }
  const loss = floats(step.outputs, graph.loss)[0];
  return {
    pipeline: pipelineDir,
    method: 'dreambooth-lora',
    modules: graph.methodTrainables.length / 2,
    loss_rel_err: relativeError([loss ?? Number.NaN], [ref('lora64.loss')[0] ?? Number.NaN]),
    grad_lora_A_rel_err: gradA,
    grad_lora_B_rel_err: gradB,
    grad_placeholder_row_rel_err: relativeError(
      floats(step.outputs, graph.gradient),
      ref('lora64.grad_placeholder_row'),
    ),
    build_ms: Math.round(graph.buildMs),
    train_step_ms: timing ? Number(step.ms.toFixed(3)) : -1,
    forward_ms: Number(forwardMs.toFixed(3)),
    unet_nodes: graph.unetNodes,
    grad_graph_nodes: graph.train.graph.nodes.length,
    peak_rss_mb: Math.round(process.resourceUsage().maxRSS / 1024),
  };
}
