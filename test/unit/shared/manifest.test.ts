// The job manifest: the paper's defaults, and clear errors for bad input.
import { JobManifest, MAX_MANIFEST_BYTES, parseManifest } from '../../../shared/manifest.ts';

const bytes = (value: unknown) =>
  new TextEncoder().encode(typeof value === 'string' ? value : JSON.stringify(value));

test('every field but token has the default of docs/contracts.md', () => {
  expect(parseManifest(bytes({ token: '<my-cat>' }))).toEqual({
    method: 'textual-inversion',
    token: '<my-cat>',
    initializerToken: 'object',
    baseModel: 'default',
    templates: 'object',
    training: { learningRate: 5e-3, scaleLr: true, batchSize: 2, seed: 59, maxSteps: 6100 },
    stop: { criterion: 'dvar', window: 310, threshold: 0.15, evalBatchSize: 4, evalEvery: 1 },
    notify: {},
  });
});

test('partial sections keep the other defaults', () => {
  const manifest = JobManifest.parse({
    token: 't',
    training: { maxSteps: 500 },
    stop: { criterion: 'none' },
  });
  expect(manifest.training).toMatchObject({ maxSteps: 500, batchSize: 2 });
  expect(manifest.stop).toMatchObject({ criterion: 'none', window: 310 });
});

test.each([
  [{}, /token/],
  [{ token: 'a b' }, /token/],
  [{ token: 'a/b' }, /token/],
  [{ token: '..' }, /token/],
  [{ token: 't', method: 'lora' }, /method/],
  [{ token: 't', baseModel: '../x' }, /baseModel/],
  [{ token: 't', training: { batchSize: 0 } }, /training\.batchSize/],
  [{ token: 't', training: { resolution: 100 } }, /training\.resolution/],
  [{ token: 't', stop: { window: 1 } }, /stop\.window/],
  [{ token: 't', stop: { threshold: 0 } }, /stop\.threshold/],
  [{ token: 't', notify: { webhookUrl: 'http://example.com' } }, /notify\.webhookUrl/],
  [{ token: 't', notify: { webhookUrl: 'https://169.254.169.254/latest' } }, /notify\.webhookUrl/],
  [[], /root/],
])('rejects %j', (value, message) => {
  expect(() => parseManifest(bytes(value))).toThrow(message);
});

test('rejects non-JSON, invalid UTF-8 and oversized manifests', () => {
  expect(() => parseManifest(bytes('{'))).toThrow(/not valid UTF-8 JSON/);
  expect(() => parseManifest(new Uint8Array([0x7b, 0xff, 0x7d]))).toThrow(/not valid UTF-8 JSON/);
  expect(() => parseManifest(new Uint8Array(MAX_MANIFEST_BYTES + 1))).toThrow(/limit is 65536/);
});

test('accepts an https webhook on a domain', () => {
  expect(
    parseManifest(bytes({ token: 't', notify: { webhookUrl: 'https://hooks.example.com/x?y=1' } })).notify,
  ).toEqual({ webhookUrl: 'https://hooks.example.com/x?y=1' });
});

test('refuses unknown keys at every level, naming them', () => {
  expect(() => parseManifest(bytes({ token: 't', training: { max_steps: 100 } }))).toThrow(
    /invalid job\.json: training: Unrecognized key: "max_steps"/,
  );
  expect(() => parseManifest(bytes({ token: 't', stopp: {} }))).toThrow(
    /\(root\): Unrecognized key: "stopp"/,
  );
  expect(() => parseManifest(bytes({ token: 't', stop: { windw: 9 } }))).toThrow(/stop: .*"windw"/);
  expect(() => parseManifest(bytes({ token: 't', method: 'dreambooth-lora', lora: { rnk: 4 } }))).toThrow(
    /lora: .*"rnk"/,
  );
  // What submit stores (defaults filled in, LoRA alpha resolved) parses again unchanged.
  const lora = parseManifest(bytes({ token: 't', method: 'dreambooth-lora' }));
  expect(JobManifest.parse(lora)).toEqual(lora);
});

test('refuses a DVAR criterion that cannot hold before maxSteps (window in steps, as dvarParamsOf counts it)', () => {
  // 310 values at evalEvery 1: the ratio is defined at the 310th value (step 309) and is 1 there, so step 310 is
  // the earliest stop, which a 310-step run never trains.
  expect(() => parseManifest(bytes({ token: 't', training: { maxSteps: 310 } }))).toThrow(
    'invalid job.json: stop.window: window 310 with evalEvery 1 lets DVAR hold at step 310 at the earliest, ' +
      'not before training.maxSteps 310',
  );
  expect(parseManifest(bytes({ token: 't', training: { maxSteps: 311 } })).training.maxSteps).toBe(311);
  // evalEvery 10, window 25 steps → round(2.5) = 3 values → step 30 at the earliest.
  const sparse = (maxSteps: number) => ({
    token: 't',
    training: { maxSteps },
    stop: { window: 25, evalEvery: 10 },
  });
  expect(() => parseManifest(bytes(sparse(30)))).toThrow(/hold at step 30 at the earliest/);
  expect(parseManifest(bytes(sparse(31))).stop.window).toBe(25);
  // No criterion, nothing to reach; and stored records of older jobs still parse through the schema.
  expect(
    parseManifest(bytes({ token: 't', training: { maxSteps: 5 }, stop: { criterion: 'none' } })),
  ).toBeDefined();
  expect(JobManifest.parse({ token: 't', training: { maxSteps: 5 } }).training.maxSteps).toBe(5);
});
