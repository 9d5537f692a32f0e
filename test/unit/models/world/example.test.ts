// The bundled example concept: the generator reproduces the committed files (PNG pixels, JSON bytes), and its job.json is a
// valid manifest whose initializer is a word of the base model's vocabulary.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { vocabulary } from '../../../../models/src/world/captions.ts';
import { EXAMPLE_NAME, exampleFiles } from '../../../../models/src/world/example.ts';
import { parseManifest } from '../../../../shared/manifest.ts';

describe('example concept', () => {
  it('matches the committed examples/ files', async () => {
    const dir = join(process.cwd(), 'examples', EXAMPLE_NAME);
    const { files } = await exampleFiles('plateau-world-32');
    expect(files.size).toBe(7);
    for (const [path, bytes] of files) {
      const committed = readFileSync(join(dir, path));
      // PNGs are compared by pixels (zlib builds may compress differently), the JSON files by bytes.
      if (path.endsWith('.png')) {
        const [a, b] = await Promise.all([
          sharp(Buffer.from(bytes)).raw().toBuffer(),
          sharp(committed).raw().toBuffer(),
        ]);
        expect(a.equals(b)).toBe(true);
      } else {
        expect(Buffer.from(bytes).equals(committed)).toBe(true);
      }
    }
  });

  it('has a valid manifest with a known initializer word', async () => {
    const { files } = await exampleFiles('plateau-world-32');
    const manifest = parseManifest(files.get('job.json') ?? new Uint8Array());
    expect(manifest.token).toBe(`<${EXAMPLE_NAME}>`);
    expect(vocabulary()).toContain(manifest.initializerToken);
  });
});
