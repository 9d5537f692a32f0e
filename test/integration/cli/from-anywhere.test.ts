// `plateau` started from a folder that is not the repository: it finds its own trainer, default model and
// example from the package's location, and writes outputs under the working directory's ./out.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { packageRoot } from '../../support/fixtures.ts';

const root = packageRoot();
const images = join(root, 'examples', 'checkered-gem', 'images');
let cwd = '';

beforeAll(() => {
  cwd = mkdtempSync(join(tmpdir(), 'plateau-elsewhere-'));
});
afterAll(() => rmSync(cwd, { recursive: true, force: true }));

/** Runs bin/plateau.js with this Node in `cwd`; resolves with its exit code and output. */
function plateau(args: readonly string[]): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(root, 'bin', 'plateau.js'), ...args], { cwd });
    let out = '';
    let err = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, out, err }));
  });
}

test('plateau run: the embedded pipeline and the default model, outputs in ./out/<jobId>', async () => {
  const { code, out, err } = await plateau([
    ...['run', '--images', images, '--token', '<gem>', '--init', 'diamond'],
    ...['--max-steps', '3', '--window', '2', '--job-id', 'elsewhere-run'],
  ]);
  expect({ code, err: code === 0 ? '' : err }).toEqual({ code: 0, err: '' });
  expect(out).toMatch(/^SUCCEEDED: job elsewhere-run\n {2}trained 3 of 3 steps: 0% of training time saved/);
  const report = JSON.parse(readFileSync(join(cwd, 'out', 'elsewhere-run', 'report.json'), 'utf8'));
  expect(report).toMatchObject({ status: 'SUCCEEDED', baseModel: 'plateau-world-32', steps: 3 });
  expect(existsSync(join(cwd, 'out', 'elsewhere-run', '<gem>.safetensors'))).toBe(true);
}, 180_000);

test('plateau train: the default model, outputs in ./out/train', async () => {
  const { code, err } = await plateau([
    ...['train', '--images', images, '--token', '<gem>', '--init', 'diamond'],
    ...['--max-steps', '2', '--samples', '0'],
  ]);
  expect({ code, err: code === 0 ? '' : err }).toEqual({ code: 0, err: '' });
  expect(existsSync(join(cwd, 'out', 'train', 'output', '<gem>.safetensors'))).toBe(true);
}, 120_000);
