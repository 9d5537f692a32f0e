/** @jest-environment ./test/onnx/support/onnx-environment.cjs */
// `plateau gradcheck` on the three golden fixtures: the autodiff training graph's loss and gradients must land
// within 1e-4 relative of PyTorch's float64 references (ti64.*, else ti.*), for both trainable choices.
import { join } from 'node:path';
import { runGradcheck } from '../../../cli/commands/gradcheck.ts';
import { main } from '../../../cli/main.ts';
import { FIXTURES_DIR } from '../../support/fixtures.ts';

const FIXTURES = FIXTURES_DIR;
const TOL = 1e-4;

function expectWithin(result: Record<string, unknown>) {
  for (const key of [
    'loss_rel_err',
    'grad_placeholder_row_rel_err',
    'grad_encoder_hidden_states_rel_err',
    'grad_unet_conv_in_weight_rel_err',
  ]) {
    const value = result[key];
    expect(typeof value).toBe('number');
    expect(value as number).toBeLessThanOrEqual(TOL);
  }
}

describe('gradcheck', () => {
  it.each(['tiny-sd', 'tiny-sd-dynamo', 'tiny-sd15topo'])(
    '%s: every rel_err ≤ 1e-4',
    async (name) => {
      const result = await runGradcheck(join(FIXTURES, name), { timing: false });
      expectWithin({ ...result });
      expect(result.grad_graph_nodes).toBeGreaterThan(result.unet_nodes);
    },
    600_000,
  );

  it('prints one JSON line with the issue fields for --wrt conv_in', async () => {
    let out = '';
    const io = { version: 'test', out: { write: (s: string) => (out += s) }, err: { write: () => true } };
    const code = await main(
      ['gradcheck', join(FIXTURES, 'tiny-sd'), '--wrt', 'conv_in', '--runs', '2', '--threads=1', '--json'],
      io,
    );
    expect(code).toBe(0);
    const lines = out.trim().split('\n');
    expect(lines).toHaveLength(1);
    const parsed: unknown = JSON.parse(lines[0] ?? '');
    const result = parsed as Record<string, unknown>;
    expectWithin(result);
    for (const key of [
      'build_ms',
      'train_step_ms',
      'forward_ms',
      'unet_nodes',
      'grad_graph_nodes',
      'peak_rss_mb',
    ]) {
      expect(typeof result[key]).toBe('number');
    }
  }, 300_000);

  it.each([
    [['--runs', '0'], /--runs must be a positive integer \(got '0'\)/],
    [['--threads=1.5'], /--threads must be a positive integer \(got '1.5'\)/],
    [['--threads'], /--threads needs a value/],
    [['--runs', '--json'], /--runs needs a value/],
  ])('rejects %j', async (flags, message) => {
    let err = '';
    const io = { version: 'test', out: { write: () => true }, err: { write: (s: string) => (err += s) } };
    expect(await main(['gradcheck', 'x', ...flags], io)).toBe(2);
    expect(err).toMatch(message);
  });

  it('rejects an unknown --wrt', async () => {
    let err = '';
    const io = { version: 'test', out: { write: () => true }, err: { write: (s: string) => (err += s) } };
    expect(await main(['gradcheck', 'x', '--wrt', 'unet'], io)).toBe(2);
    expect(err).toMatch(/--wrt must be placeholder or conv_in/);
  });
});
