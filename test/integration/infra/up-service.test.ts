// `plateau up`'s service: prints one ready line with working endpoints and credentials, preloads a model
// folder as `aws s3 sync` would, serves any S3 client and the web console, and shuts down cleanly when told to stop.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetObjectCommand, ListObjectsCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { parseUpOptions } from '../../../cli/commands/up.ts';
import { runUp } from '../../../cli/commands/up-service.ts';

describe('plateau up', () => {
  const root = mkdtempSync(join(tmpdir(), 'plateau-up-test-'));
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('prints the ready line, preloads models, serves S3 clients, and stops on request', async () => {
    const model = join(root, 'tiny');
    mkdirSync(join(model, 'unet'), { recursive: true });
    writeFileSync(join(model, 'model_index.json'), '{}');
    writeFileSync(join(model, 'unet', 'model.onnx'), 'not really onnx');
    let out = '';
    let err = '';
    let stop = () => {};
    const until = new Promise<void>((resolve) => {
      stop = resolve;
    });
    const io = {
      version: '0',
      out: { write: (s: string) => (out += s) },
      err: { write: (s: string) => (err += s) },
    };
    const options = parseUpOptions(['--json', '--state', join(root, 'state'), '--model', model]);
    const exit = runUp(options, io, until);
    for (let i = 0; i < 400 && !out.includes('\n'); i++) await new Promise((r) => setTimeout(r, 25));

    const ready = JSON.parse(out.trim());
    expect(Object.keys(ready).sort()).toEqual(
      [
        'accessKeyId',
        'bucket',
        'consoleUrl',
        'dynamodbEndpoint',
        'region',
        's3Endpoint',
        'secretAccessKey',
        'table',
      ].sort(),
    );
    const s3 = new S3Client({
      region: ready.region,
      endpoint: ready.s3Endpoint,
      forcePathStyle: true,
      credentials: { accessKeyId: ready.accessKeyId, secretAccessKey: ready.secretAccessKey },
    });
    const listed = await s3.send(new ListObjectsCommand({ Bucket: ready.bucket, Prefix: 'models/tiny/' }));
    expect((listed.Contents ?? []).map((o) => o.Key).sort()).toEqual([
      'models/tiny/model_index.json',
      'models/tiny/unet/model.onnx',
    ]);
    await s3.send(new PutObjectCommand({ Bucket: ready.bucket, Key: 'scratch/hello.txt', Body: 'hi' }));
    const got = await s3.send(new GetObjectCommand({ Bucket: ready.bucket, Key: 'scratch/hello.txt' }));
    expect(await got.Body?.transformToString()).toBe('hi');
    s3.destroy();
    // The printed credentials are this start's own; s3rver's well-known ones are refused.
    expect(ready.accessKeyId).toMatch(/^PLAT[A-Z2-7]{16}$/);
    const stranger = new S3Client({
      region: ready.region,
      endpoint: ready.s3Endpoint,
      forcePathStyle: true,
      credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
    });
    await expect(
      stranger.send(new GetObjectCommand({ Bucket: ready.bucket, Key: 'scratch/hello.txt' })),
    ).rejects.toThrow(/not this stack's/);
    stranger.destroy();
    expect(err).toContain('loaded model tiny (2 files)');
    // The embedded default model is always there, so `plateau submit` without --model works.
    expect(err).toMatch(/loaded model plateau-world-32 \(\d+ files\)/);
    // The web console answers on 127.0.0.1 with this start's token, and only with it.
    expect(ready.consoleUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/\?token=[\w-]{32}$/);
    const signIn = await fetch(ready.consoleUrl, { redirect: 'manual' });
    expect(signIn.status).toBe(303);
    const cookie = signIn.headers.get('set-cookie')?.split(';')[0] ?? '';
    const page = await fetch(new URL('/', ready.consoleUrl), { headers: { cookie } });
    expect(await page.text()).toContain('plateau console');
    expect((await fetch(new URL('/api/jobs', ready.consoleUrl))).status).toBe(403);

    stop();
    expect(await exit).toBe(0);
  });

  it('rejects unknown options', () => {
    expect(() => parseUpOptions(['--port', '9000'])).toThrow(/port/);
    expect(() => parseUpOptions(['--console-port', 'x'])).toThrow(/--console-port must be a port number/);
    expect(parseUpOptions(['--console-port', '8765']).consolePort).toBe(8765);
  });
});
