// prepareClassImages: uploads first, the rest generated in seeded chunks and cached in the job's store, so a second
// (resumed) run decodes the same images and generates none.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FolderArtifactStore } from '../../../shared/files/folder-artifact-store.ts';
import type { PixelImage } from '../../../trainer-image/src/train/batches.ts';
import {
  CLASS_IMAGE_CHUNK,
  CLASS_IMAGE_PREFIX,
  prepareClassImages,
} from '../../../trainer-image/src/train/class-images.ts';
import type { RgbImage } from '../../../trainer-image/src/train/sampler.ts';

const calls: { prompt: string; count: number; seed: number }[] = [];
async function generate(prompt: string, count: number, seed: number): Promise<RgbImage[]> {
  calls.push({ prompt, count, seed });
  return Array.from({ length: count }, (_, k) => ({
    width: 16,
    height: 16,
    data: Uint8Array.from({ length: 16 * 16 * 3 }, (_, i) => (i * (k + 3) + seed) % 256),
  }));
}

const uploaded: PixelImage = { channels: 3, height: 8, width: 8, data: new Float32Array(3 * 64) };

describe('prepareClassImages', () => {
  it('keeps the uploads, generates the rest in seeded chunks, and reuses them on the next run', async () => {
    const store = new FolderArtifactStore(mkdtempSync(join(tmpdir(), 'plateau-class-')));
    const request = { prompt: 'a photo of a cat', count: 12, seed: 59, resolution: 8, uploaded: [uploaded] };
    const progress: number[] = [];
    const first = await prepareClassImages(request, {
      store,
      generate,
      onProgress: (done) => progress.push(done),
    });
    expect(first.images).toHaveLength(12);
    expect(first.images[0]).toBe(uploaded);
    expect(first.generated).toBe(11);
    expect(calls.map((c) => c.count)).toEqual([CLASS_IMAGE_CHUNK, 11 - CLASS_IMAGE_CHUNK]);
    expect(new Set(calls.map((c) => c.seed)).size).toBe(2);
    expect(progress).toEqual([CLASS_IMAGE_CHUNK, 11]);
    expect(await store.list(CLASS_IMAGE_PREFIX)).toHaveLength(11);
    for (const image of first.images) expect([image.height, image.width]).toEqual([8, 8]);

    calls.length = 0;
    const again = await prepareClassImages(request, { store, generate });
    expect(calls).toHaveLength(0);
    expect(again.generated).toBe(0);
    expect(again.cached).toBe(11);
    expect(again.images).toEqual(first.images);
  });

  // In AWS a role that may list only some prefixes gets AccessDenied, not "no such key", reading a missing key.
  it('reads only cached keys it has listed (a read of a missing key would be AccessDenied in AWS)', async () => {
    const folder = new FolderArtifactStore(mkdtempSync(join(tmpdir(), 'plateau-class-')));
    const store = {
      put: folder.put.bind(folder),
      list: folder.list.bind(folder),
      async get(key: string) {
        const body = await folder.get(key);
        if (body === undefined) throw new Error(`AccessDenied: ${key}`);
        return body;
      },
    };
    const request = { prompt: 'p', count: 3, seed: 5, resolution: 8, uploaded: [] };
    const first = await prepareClassImages(request, { store, generate });
    expect(first.generated).toBe(3);
    const again = await prepareClassImages(request, { store, generate });
    expect(again.cached).toBe(3);
    expect(again.images).toEqual(first.images);
  });

  it('generates nothing when the uploads cover the count', async () => {
    const store = new FolderArtifactStore(mkdtempSync(join(tmpdir(), 'plateau-class-')));
    calls.length = 0;
    const r = await prepareClassImages(
      { prompt: 'p', count: 1, seed: 1, resolution: 8, uploaded: [uploaded, uploaded] },
      { store, generate },
    );
    expect(r.images).toHaveLength(1);
    expect(calls).toHaveLength(0);
  });
});
