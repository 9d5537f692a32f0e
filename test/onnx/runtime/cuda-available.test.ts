// cudaAvailable finds onnxruntime-node from the running program's entry file, not the working directory: a
// CUDA provider beside the binding counts wherever plateau is started from.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cudaAvailable } from '../../../trainer-image/src/runtime/session.ts';

const savedArgv1 = process.argv[1];
const savedCwd = process.cwd();
let dir = '';

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'plateau-cuda-'));
  const ort = join(dir, 'app', 'node_modules', 'onnxruntime-node');
  mkdirSync(join(ort, 'bin', 'napi-v6', process.platform, process.arch), { recursive: true });
  writeFileSync(join(ort, 'package.json'), '{"name":"onnxruntime-node"}');
  mkdirSync(join(dir, 'app', 'bin'));
  writeFileSync(join(dir, 'app', 'bin', 'entry.js'), '');
  mkdirSync(join(dir, 'elsewhere'));
});

afterEach(() => {
  process.argv[1] = savedArgv1 ?? '';
  process.chdir(savedCwd);
  rmSync(dir, { recursive: true, force: true });
});

test('the provider library beside the entry file’s onnxruntime-node decides, from any working directory', () => {
  process.argv[1] = join(dir, 'app', 'bin', 'entry.js');
  process.chdir(join(dir, 'elsewhere'));
  expect(cudaAvailable()).toBe(false);
  const lib = join(
    dir,
    'app/node_modules/onnxruntime-node/bin/napi-v6',
    process.platform,
    process.arch,
    'libonnxruntime_providers_cuda.so',
  );
  writeFileSync(lib, '');
  expect(cudaAvailable()).toBe(true);
});
