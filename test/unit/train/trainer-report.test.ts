// The trainer's partial report.json: class-image figures accumulate over attempts (a reclaimed attempt's
// generation time is not lost when the next one reads the cache) and other fields already there are kept.

import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FolderArtifactStore } from '../../../shared/files/folder-artifact-store.ts';
import { recordClassImages, TRAINER_REPORT_KEY } from '../../../trainer-image/src/train/trainer-report.ts';

test('sums generated images and seconds over attempts and keeps other fields', async () => {
  const store = new FolderArtifactStore(mkdtempSync(join(tmpdir(), 'plateau-report-')));
  await store.put(TRAINER_REPORT_KEY, new TextEncoder().encode(JSON.stringify({ trainer: { note: 1 } })));
  await recordClassImages(store, { count: 200, generated: 200, seconds: 120 });
  const second = await recordClassImages(store, { count: 200, generated: 0, seconds: 2.5 });
  expect(second).toEqual({ count: 200, generated: 200, seconds: 122.5 });
  const written = JSON.parse(new TextDecoder().decode(await store.get(TRAINER_REPORT_KEY)));
  expect(written).toEqual({
    trainer: { note: 1 },
    classImages: { count: 200, generated: 200, seconds: 122.5 },
  });
});

test('starts from an unreadable or missing report', async () => {
  const store = new FolderArtifactStore(mkdtempSync(join(tmpdir(), 'plateau-report-')));
  await store.put(TRAINER_REPORT_KEY, new TextEncoder().encode('{not json'));
  expect(await recordClassImages(store, { count: 4, generated: 4, seconds: 1 })).toEqual({
    count: 4,
    generated: 4,
    seconds: 1,
  });
});
