// Benchmark for the autodiff targets of issue 3: training-graph build time (< 3 s on tiny-sd15topo), train step /
// forward ratio (≤ 2.5) and peak RSS, per fixture, as one JSON line each. `--quick`: tiny-sd, 1 timed run.
// Usage: node bench/gradcheck/run.ts [--quick] [--runs N] [--threads N] [--fixtures DIR] [name ...]
import { join } from 'node:path';
import { runGradcheck } from '../../cli/commands/gradcheck.ts';
import { benchArgs } from './bench-args.ts';

const args = benchArgs(['--runs', '--threads']);
const quick = args.has('--quick');
const runs = args.number('--runs', quick ? 1 : 10);
const threads = args.optionalNumber('--threads');
const fixtures = args.fixtures;
const names = args.names;
const selected =
  names.length > 0 ? names : quick ? ['tiny-sd'] : ['tiny-sd', 'tiny-sd-dynamo', 'tiny-sd15topo'];

for (const name of selected) {
  const r = await runGradcheck(join(fixtures, name), { runs, ...(threads ? { threads } : {}) });
  const ratio = r.train_step_ms / r.forward_ms;
  const maxErr = Math.max(
    r.loss_rel_err,
    r.grad_placeholder_row_rel_err,
    r.grad_encoder_hidden_states_rel_err,
    r.grad_unet_conv_in_weight_rel_err,
  );
  process.stdout.write(
    `${JSON.stringify({
      bench: 'gradcheck',
      fixture: name,
      runs,
      threads: threads ?? 'default',
      build_ms: r.build_ms,
      build_target_ms: 3000,
      build_ok: r.build_ms < 3000,
      train_step_ms: r.train_step_ms,
      forward_ms: r.forward_ms,
      train_forward_ratio: Number(ratio.toFixed(3)),
      ratio_target: 2.5,
      ratio_ok: ratio <= 2.5,
      max_rel_err: maxErr,
      rel_err_ok: maxErr <= 1e-4,
      unet_nodes: r.unet_nodes,
      grad_graph_nodes: r.grad_graph_nodes,
      peak_rss_mb: r.peak_rss_mb,
    })}\n`,
  );
}
