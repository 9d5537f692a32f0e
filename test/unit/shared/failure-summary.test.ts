// Failure reasons on the job record: first line and the first frame in our own code, from an error object or
// from what a dying Node process printed.
import { errorFromOutput, summarizeError, whereThrown } from '../../../shared/failure-summary.ts';

const root = '/srv/plateau';

test('the first frame outside node internals and node_modules, relative to the working directory', () => {
  const stack = [
    'Error: boom',
    '    at JSON.parse (<anonymous>)',
    '    at Object.load (/srv/plateau/node_modules/pkg/index.js:3:9)',
    '    at readConfig (file:///srv/plateau/trainer-image/src/train/model-resolution.ts:12:20)',
    '    at async main (file:///srv/plateau/trainer-image/src/main.ts:40:5)',
    '    at node:internal/modules/run_main:1:1',
  ].join('\n');
  expect(whereThrown(stack, root)).toBe('trainer-image/src/train/model-resolution.ts:12:20');
  expect(whereThrown('    at /elsewhere/x.ts:1:2', root)).toBe('/elsewhere/x.ts:1:2');
  expect(whereThrown('    at node:internal/x:1:1', root)).toBeUndefined();
});

test('an error becomes one line: its name unless plain, the first line of its message, and where', () => {
  const error = new TypeError('bad input\nsecond line');
  error.stack = `TypeError: bad input\nsecond line\n    at check (${root}/shared/manifest.ts:7:3)`;
  expect(summarizeError(error, root)).toBe('TypeError: bad input (at shared/manifest.ts:7:3)');
  const plain = new Error('no image files');
  plain.stack = 'Error: no image files\n    at node:internal/x:1:1';
  expect(summarizeError(plain, root)).toBe('no image files');
  expect(summarizeError('thrown string\nmore', root)).toBe('thrown string');
});

test('the error a Node process printed before dying, as Node prints an uncaught exception', () => {
  const output = [
    'some progress line',
    'node:internal/modules/cjs/loader:1228',
    '  throw err;',
    '  ^',
    '',
    "Error: Cannot find module '/tmp/x/trainer-image/src/main.ts'",
    '    at Module._resolveFilename (node:internal/modules/cjs/loader:1225:15)',
    '    at node:internal/main/run_main_module:28:49 {',
    "  code: 'MODULE_NOT_FOUND',",
  ].join('\n');
  expect(errorFromOutput(output, root)).toBe("Cannot find module '/tmp/x/trainer-image/src/main.ts'");
  const esm = [
    'plateau trainer failed:',
    "Error [ERR_MODULE_NOT_FOUND]: Cannot find package 'zod' imported from /srv/plateau/shared/manifest.ts",
    `    at resolve (${root}/shared/manifest.ts:3:1)`,
  ].join('\n');
  expect(errorFromOutput(esm, root)).toBe(
    "Cannot find package 'zod' imported from /srv/plateau/shared/manifest.ts (at shared/manifest.ts:3:1)",
  );
  expect(errorFromOutput('RangeError: too big\n', root)).toBe('RangeError: too big');
  expect(errorFromOutput('all fine\n', root)).toBeUndefined();
});
