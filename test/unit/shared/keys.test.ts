// The S3 key layout and the checks on keys that arrive from outside.
import {
  decodeEventKey,
  imageNameFromKey,
  isSafeName,
  isValidJobId,
  jobIdFromManifestKey,
  jobKeys,
  modelPrefix,
} from '../../../shared/keys.ts';

test('jobKeys lays out one job under jobs/<jobId>/', () => {
  const keys = jobKeys('cat_01');
  expect(keys.manifest).toBe('jobs/cat_01/input/job.json');
  expect(keys.imagesPrefix).toBe('jobs/cat_01/input/images/');
  expect(keys.checkpointsPrefix).toBe('jobs/cat_01/checkpoints/');
  expect(keys.report).toBe('jobs/cat_01/output/report.json');
  expect(keys.lossChart).toBe('jobs/cat_01/output/loss.svg');
  expect(keys.embedding('<my-cat>')).toBe('jobs/cat_01/output/<my-cat>.safetensors');
  expect(() => jobKeys('../x')).toThrow(/invalid jobId/);
});

test.each([
  ['a', true],
  ['A1_b-2', true],
  ['x'.repeat(64), true],
  ['x'.repeat(65), false],
  ['', false],
  ['-a', false],
  ['_a', false],
  ['a/b', false],
  ['a.b', false],
  ['..', false],
  ['a b', false],
  ['é', false],
])('jobId %j valid: %s', (id, valid) => {
  expect(isValidJobId(id)).toBe(valid);
});

test('manifest keys: only jobs/<valid id>/input/job.json, after one decoding', () => {
  const parse = (raw: string) => {
    const key = decodeEventKey(raw);
    return key === undefined ? undefined : jobIdFromManifestKey(key);
  };
  expect(parse('jobs/my-job/input/job.json')).toBe('my-job');
  expect(parse('jobs/my%2Djob/input/job.json')).toBe('my-job');
  expect(parse('jobs/../input/job.json')).toBeUndefined();
  expect(parse('jobs/%2e%2e/input/job.json')).toBeUndefined();
  expect(parse('jobs/%252e%252e/input/job.json')).toBeUndefined();
  expect(parse('jobs/a%2Fb/input/job.json')).toBeUndefined();
  expect(parse('jobs/a/b/input/job.json')).toBeUndefined();
  expect(parse('jobs/a/input/job.json/')).toBeUndefined();
  expect(parse('jobs/a+b/input/job.json')).toBeUndefined();
  expect(parse('jobs/a%00/input/job.json')).toBeUndefined();
  expect(parse('jobs/a%/input/job.json')).toBeUndefined();
  expect(parse(`jobs/${'a'.repeat(5000)}/input/job.json`)).toBeUndefined();
  expect(parse('/jobs/a/input/job.json')).toBeUndefined();
});

test('image names: one safe segment directly under the images prefix', () => {
  expect(imageNameFromKey('j', 'jobs/j/input/images/cat 1.JPG')).toBe('cat 1.JPG');
  expect(imageNameFromKey('j', 'jobs/j/input/images/sub/cat.png')).toBeUndefined();
  expect(imageNameFromKey('j', 'jobs/j/input/images/..')).toBeUndefined();
  expect(imageNameFromKey('j', 'jobs/j/input/images/a..b.png')).toBeUndefined();
  expect(imageNameFromKey('j', 'jobs/k/input/images/cat.png')).toBeUndefined();
  expect(isSafeName('.hidden')).toBe(true);
  expect(isSafeName('a\\b')).toBe(false);
});

test('model prefixes reject traversal', () => {
  expect(modelPrefix('sd15')).toBe('models/sd15/');
  expect(() => modelPrefix('../secrets')).toThrow(/invalid model name/);
  expect(() => modelPrefix('a/b')).toThrow(/invalid model name/);
});
