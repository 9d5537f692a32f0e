// `plateau gradcheck <pipelineDir> [--wrt placeholder|conv_in] [--runs N] [--threads N] [--json]`: builds the
// textual-inversion training graph with our autodiff, runs it on the CPU against the pipeline's golden PyTorch
// tensors and reports relative errors, build and step times and peak memory as one JSON line (or a readable table
// without --json).
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readSafetensors } from '../../shared/safetensors.ts';
import { DataType } from '../../trainer-image/src/onnx/model.ts';
import { Session, type TypedTensor } from '../../trainer-image/src/runtime/session.ts';
import {
  buildTrainingGraph,
  sessionSource,
  type TrainableChoice,
} from '../../trainer-image/src/train/training-graph.ts';
import { boundedOption, type Command, parseCommandArgs, stringOption, UsageError } from '../command.ts';
import { runCdGradcheck } from './gradcheck-cd.ts';
import { runLoraGradcheck } from './gradcheck-lora.ts';
import { floats, reference, relativeError, tensor, tiFeeds, timed } from './gradcheck-support.ts';

export { relativeError } from './gradcheck-support.ts';

export interface GradcheckResult {
  readonly pipeline: string;
  readonly wrt: TrainableChoice;
  readonly loss_rel_err: number;
  readonly grad_placeholder_row_rel_err: number;
  readonly grad_encoder_hidden_states_rel_err: number;
  readonly grad_unet_conv_in_weight_rel_err: number;
  readonly build_ms: number;
  readonly train_step_ms: number;
  readonly forward_ms: number;
  readonly unet_nodes: number;
  readonly grad_graph_nodes: number;
  readonly peak_rss_mb: number;
}

export interface GradcheckOptions {
  readonly wrt?: TrainableChoice;
  /** Timed runs per graph (≥ 5 for the report; the median is taken). */
  readonly runs?: number;
  /** Time the training and loss-only graphs (default true). */
  readonly timing?: boolean;
  /** onnxruntime intra-op threads (default: its own choice); 1 gives steadier ratios on a busy machine. */
  readonly threads?: number;
}

/**
 * Runs the whole check. Errors come from one graph that outputs the placeholder, conv_in and text-encoder-output
 * gradients at once; timings from the `--wrt` training graph and its loss-only twin (`runs` timed repetitions
 * after a warm-up). `timing: false` skips the timed graphs (tests): their fields are then -1.
 */
export async function runGradcheck(
  pipelineDir: string,
  options: GradcheckOptions = {},
): Promise<GradcheckResult> {
  const wrt = options.wrt ?? 'placeholder';
  const runs = Math.max(1, options.runs ?? 5);
  const timing = options.timing ?? true;
  const goldenPath = join(pipelineDir, 'golden.safetensors');
  if (!existsSync(goldenPath)) {
    throw new Error(`${goldenPath} not found: gradcheck needs a pipeline folder with golden PyTorch tensors`);
  }
  const golden = readSafetensors(readFileSync(goldenPath));

  // The golden batch is the only one these graphs run with: a static batch makes session creation fast.
  const batch = tensor(golden, 'ti.input_ids').shape[0];
  const graph = buildTrainingGraph(pipelineDir, {
    wrt,
    check: true,
    ...(batch === undefined ? {} : { batchSize: batch, forwardBatchSize: batch }),
  });
  const feeds = tiFeeds(graph, golden);
  let trainMs = -1;
  let forwardMs = -1;
  let timedLoss: number | undefined;
  let timedGrad: ArrayLike<number> | undefined;
  const sessionOptions = options.threads ? { intraOpThreads: options.threads } : {};
  if (timing) {
    const train = await Session.create(sessionSource(graph.train, graph.modelDir), sessionOptions);
    const forward = await Session.create(sessionSource(graph.forward, graph.modelDir), sessionOptions);
    const step = await timed(train, feeds, runs);
    const fwd = await timed(forward, feeds, runs);
    await train.release();
    await forward.release();
    trainMs = step.ms;
    forwardMs = fwd.ms;
    timedLoss = floats(step.outputs, graph.loss)[0];
    timedGrad = floats(step.outputs, graph.gradient);
  }

  const check = graph.check;
  if (!check) throw new Error('gradcheck: the check graph was not built');
  const checkFeeds: Record<string, TypedTensor> = {
    ...feeds,
    [check.convInWeight]: { dataType: DataType.FLOAT, dims: check.convInDims, data: check.convInInitial },
  };
  const session = await Session.create(sessionSource(check.model, graph.modelDir));
  const out = await session.run(checkFeeds);
  await session.release();
  const loss = timedLoss ?? floats(out, graph.loss)[0];
  // The timed graph's own gradient is checked too: the graph that is timed is the graph that is right.
  const placeholderGrad =
    wrt === 'placeholder' && timedGrad ? timedGrad : floats(out, check.gradients.placeholder);
  const convInGrad = wrt === 'conv_in' && timedGrad ? timedGrad : floats(out, check.gradients.conv_in);
  const ehsGrad = floats(out, check.gradients.encoder_hidden_states);
  const lossRef = reference(golden, 'loss');

  return {
    pipeline: pipelineDir,
    wrt,
    loss_rel_err: relativeError([loss ?? Number.NaN], [lossRef[0] ?? Number.NaN]),
    grad_placeholder_row_rel_err: relativeError(placeholderGrad, reference(golden, 'grad_placeholder_row')),
    grad_encoder_hidden_states_rel_err: relativeError(
      ehsGrad,
      reference(golden, 'grad_encoder_hidden_states'),
    ),
    grad_unet_conv_in_weight_rel_err: relativeError(
      convInGrad,
      reference(golden, 'grad_unet_conv_in_weight'),
    ),
    build_ms: Math.round(graph.buildMs),
    train_step_ms: Number(trainMs.toFixed(3)),
    forward_ms: Number(forwardMs.toFixed(3)),
    unet_nodes: graph.unetNodes,
    grad_graph_nodes: graph.train.graph.nodes.length,
    peak_rss_mb: Math.round(process.resourceUsage().maxRSS / 1024),
  };
}

interface GradcheckArgs {
  readonly dir: string;
  readonly method: 'textual-inversion' | 'dreambooth-lora' | 'custom-diffusion';
  readonly wrt: TrainableChoice;
  readonly json: boolean;
  readonly runs: number | undefined;
  readonly threads: number | undefined;
}

const GRADCHECK_METHODS = ['textual-inversion', 'dreambooth-lora', 'custom-diffusion'] as const;

function parseGradcheckArgs(args: readonly string[]): GradcheckArgs {
  const { values, positionals } = parseCommandArgs(
    args,
    {
      method: { type: 'string' },
      wrt: { type: 'string' },
      runs: { type: 'string' },
      threads: { type: 'string' },
      json: { type: 'boolean' },
    },
    { positionals: true },
  );
  const [dir, ...more] = positionals;
  if (!dir) throw new UsageError('missing <pipelineDir>');
  if (more.length > 0) throw new UsageError(`unexpected argument '${more[0]}'`);
  const method = stringOption(values, 'method') ?? 'textual-inversion';
  if (!(GRADCHECK_METHODS as readonly string[]).includes(method)) {
    throw new UsageError(`--method must be ${GRADCHECK_METHODS.join(', ')} (got '${method}')`);
  }
  const wrt = stringOption(values, 'wrt') ?? 'placeholder';
  if (wrt !== 'placeholder' && wrt !== 'conv_in')
    throw new UsageError(`--wrt must be placeholder or conv_in (got '${wrt}')`);
  if (method !== 'textual-inversion' && wrt !== 'placeholder') {
    throw new UsageError('--wrt applies to textual inversion only');
  }
  return {
    dir,
    method: method as GradcheckArgs['method'],
    wrt,
    json: values.json === true,
    runs: boundedOption(values, 'runs', { integer: true, min: 1 }),
    threads: boundedOption(values, 'threads', { integer: true, min: 1 }),
  };
}

export const gradcheckCommand: Command = {
  name: 'gradcheck',
  summary:
    "Check the autodiff training graph's loss and gradients against a pipeline's golden PyTorch tensors",
  usage:
    'plateau gradcheck <pipelineDir> [--method textual-inversion|dreambooth-lora|custom-diffusion] [--wrt placeholder|conv_in] ' +
    '[--runs N] [--threads N] [--json]\n' +
    '  --method      dreambooth-lora checks LoRA A/B and the token row against golden-lora.safetensors;\n' +
    '                custom-diffusion the attn2 K/V weights (plain and detached at token 0) against golden-cd\n' +
    '  --runs N      timed runs per graph, the median reported (default 5)\n' +
    "  --threads N   onnxruntime intra-op threads (default: onnxruntime's choice; 1 is steadier on a busy machine)",
  async run(args, io) {
    const { dir, method, wrt, json, runs, threads } = parseGradcheckArgs(args);
    const timing = {
      ...(runs === undefined ? {} : { runs }),
      ...(threads === undefined ? {} : { threads }),
    };
    const result =
      method === 'dreambooth-lora'
        ? await runLoraGradcheck(dir, timing)
        : method === 'custom-diffusion'
          ? await runCdGradcheck(dir, timing)
          : await runGradcheck(dir, { wrt, ...timing });
    if (json) io.out.write(`${JSON.stringify(result)}\n`);
    else {
      const lines = Object.entries(result).map(([k, v]) => `${k.padEnd(36)} ${v}`);
      io.out.write(`${lines.join('\n')}\n`);
    }
    return 0;
  },
};
