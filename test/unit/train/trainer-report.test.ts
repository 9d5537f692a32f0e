// The trainer's partial report.json: class-image figures accumulate over attempts (a reclaimed attempt's
// generation time is not lost when the next one reads the cache), and the trainer never reads output/ back:
// its role in AWS may write outputs but not read them.

import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FolderArtifactStore } from '../../../shared/files/folder-artifact-store.ts';
import type { ArtifactStore } from '../../../shared/ports.ts';
import {
  CLASS_IMAGE_TOTALS_KEY,
  recordClassImages,
  TRAINER_REPORT_KEY,
} from '../../../trainer-image/src/train/trainer-report.ts';

/** A folder store that refuses what the trainer's role may not do: read outputs, or read a key not there. */
function trainerRoleStore(): { store: ArtifactStore; folder: FolderArtifactStore } {
  const folder = new FolderArtifactStore(mkdtempSync(join(tmpdir(), 'plateau-report-')));
  const store: ArtifactStore = {
    put: folder.put.bind(folder),
    list: folder.list.bind(folder),
    async get(key) {
      if (key.startsWith('output/')) throw new Error(`AccessDenied: ${key}`);
      const body = await folder.get(key);
      if (body === undefined) throw new Error(`AccessDenied: ${key}`);
      return body;
    },
  };
  return { store, folder };
}

test('sums generated images and seconds over attempts without reading outputs', async () => {
  const { store, folder } = trainerRoleStore();
  await recordClassImages(store, { count: 200, generated: 200, seconds: 120 });
  const second = await recordClassImages(store, { count: 200, generated: 0, seconds: 2.5 });
  expect(second).toEqual({ count: 200, generated: 200, seconds: 122.5 });
  const written = JSON.parse(new TextDecoder().decode(await folder.get(TRAINER_REPORT_KEY)));
  expect(written).toEqual({ classImages: { count: 200, generated: 200, seconds: 122.5 } });
});

test('starts from unreadable totals', async () => {
  const { store, folder } = trainerRoleStore();
  await folder.put(CLASS_IMAGE_TOTALS_KEY, new TextEncoder().encode('{not json'));
  expect(await recordClassImages(store, { count: 4, generated: 4, seconds: 1 })).toEqual({
    count: 4,
    generated: 4,
    seconds: 1,
  });
});
