// S3ObjectStore and S3ArtifactStore against a real S3 implementation (s3rver, in-process).

import { S3ArtifactStore, S3ObjectStore } from '../../../../shared/aws/s3-store.ts';
import { CHECKPOINT_TAG, CHECKPOINTS_DIR, jobKeys } from '../../../../shared/keys.ts';
import { ObjectChangedError } from '../../../../shared/pipeline-ports.ts';
import { type EmbeddedAws, startEmbeddedAws } from './embedded-aws.ts';

let aws: EmbeddedAws;
beforeAll(async () => {
  aws = await startEmbeddedAws();
});
afterAll(async () => {
  await aws.close();
});

const bytes = (text: string) => new TextEncoder().encode(text);

test('put, get, ranged get, head and list round-trip; absent keys read as undefined', async () => {
  const store = new S3ObjectStore(aws.s3, aws.bucket);
  await store.put('jobs/a/input/images/one.png', bytes('0123456789'), 'image/png');
  await store.put('jobs/a/input/images/two.png', bytes('abc'));
  await store.put('jobs/b/input/job.json', bytes('{}'));
  expect(new TextDecoder().decode(await store.get('jobs/a/input/images/one.png'))).toBe('0123456789');
  expect(new TextDecoder().decode(await store.get('jobs/a/input/images/one.png', { start: 2, end: 4 }))).toBe(
    '234',
  );
  // The ETag of a single-part upload is the quoted MD5 of its bytes.
  const abc = '"900150983cd24fb0d6963f7d28e17f72"';
  expect(await store.head('jobs/a/input/images/two.png')).toEqual({
    key: 'jobs/a/input/images/two.png',
    size: 3,
    etag: abc,
  });
  expect(await store.get('jobs/a/missing')).toBeUndefined();
  expect(await store.head('jobs/a/missing')).toBeUndefined();
  expect(await store.list('jobs/a/')).toEqual([
    { key: 'jobs/a/input/images/one.png', size: 10, etag: expect.any(String) },
    { key: 'jobs/a/input/images/two.png', size: 3, etag: abc },
  ]);
  // A read pinned to an ETag returns that object's bytes, and refuses a replaced or deleted one.
  expect(await store.get('jobs/a/input/images/two.png', undefined, { etag: abc })).toEqual(bytes('abc'));
  await store.put('jobs/a/input/images/two.png', bytes('abd'));
  await expect(store.get('jobs/a/input/images/two.png', { start: 0, end: 1 }, { etag: abc })).rejects.toThrow(
    ObjectChangedError,
  );
  await expect(store.get('jobs/a/missing', undefined, { etag: abc })).rejects.toThrow(/was deleted/);
});

test('list follows continuation tokens past one page', async () => {
  const store = new S3ObjectStore(aws.s3, aws.bucket);
  const keys = Array.from({ length: 1005 }, (_, i) => `paged/${String(i).padStart(4, '0')}`);
  for (let i = 0; i < keys.length; i += 50) {
    await Promise.all(keys.slice(i, i + 50).map((key) => store.put(key, bytes('x'))));
  }
  expect((await store.list('paged/')).map((o) => o.key)).toEqual(keys);
});

test('artifact store scopes keys to the job root and refuses traversal', async () => {
  const objects = new S3ObjectStore(aws.s3, aws.bucket);
  const artifacts = new S3ArtifactStore(objects, 'jobs/c/');
  await artifacts.put('checkpoints/step-10.bin', bytes('ck'));
  expect(await objects.head('jobs/c/checkpoints/step-10.bin')).toBeDefined();
  expect(await artifacts.list('checkpoints/')).toEqual(['checkpoints/step-10.bin']);
  expect(new TextDecoder().decode(await artifacts.get('checkpoints/step-10.bin'))).toBe('ck');
  expect(await artifacts.get('checkpoints/none')).toBeUndefined();
  expect(() => artifacts.put('../d/x', bytes('no'))).toThrow(/relative/);
  expect(() => new S3ArtifactStore(objects, 'jobs/c')).toThrow(/end with/);
});

test('checkpoints are uploaded with the expiry tag (x-amz-tagging on the PutObject), other artifacts without', async () => {
  // s3rver accepts but does not store tags given with PutObject (only PutObjectTagging), so the request
  // itself is checked: the header S3 reads them from, on the wire.
  const sent = new Map<string, string | undefined>();
  const name = 'captureTagging';
  aws.s3.middlewareStack.add(
    (next) => async (args) => {
      const request = args.request as { path?: string; headers?: Record<string, string> };
      if (request.path) sent.set(decodeURIComponent(request.path), request.headers?.['x-amz-tagging']);
      return next(args);
    },
    { step: 'finalizeRequest', name },
  );
  try {
    const artifacts = new S3ArtifactStore(new S3ObjectStore(aws.s3, aws.bucket), 'jobs/t/');
    await artifacts.put('checkpoints/step-20.bin', bytes('ck'));
    await artifacts.put('output/report.json', bytes('{}'), 'application/json');
  } finally {
    aws.s3.middlewareStack.remove(name);
  }
  const tagOf = (key: string) => [...sent].find(([path]) => path.endsWith(key))?.[1];
  expect(tagOf('jobs/t/checkpoints/step-20.bin')).toBe(`${CHECKPOINT_TAG.key}=${CHECKPOINT_TAG.value}`);
  expect(tagOf('jobs/t/output/report.json')).toBeUndefined();
  expect([...sent.keys()].some((path) => path.endsWith('jobs/t/output/report.json'))).toBe(true);
  expect(`jobs/t/${CHECKPOINTS_DIR}`).toBe(jobKeys('t').checkpointsPrefix);
});
