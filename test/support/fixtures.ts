// Where the reference fixtures live (test/fixtures: tiny SD pipelines with PyTorch goldens; see its README).
// Tests and bench defaults resolve them here, from the package root found above the working directory.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

/** The plateau package root: the nearest folder at or above `from` whose package.json is named "plateau". */
export function packageRoot(from: string = process.cwd()): string {
  let dir = resolve(from);
  for (;;) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest)) {
      const name = (JSON.parse(readFileSync(manifest, 'utf8')) as { name?: unknown }).name;
      if (name === 'plateau') return dir;
    }
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`no plateau package.json at or above ${resolve(from)}`);
    dir = parent;
  }
}

/** The folder holding every fixture (tiny-sd, tiny-sd-dynamo, tiny-sd15topo, sd15-fullsize-graph). */
export const FIXTURES_DIR: string = join(packageRoot(), 'test', 'fixtures');

/** One fixture's folder, e.g. fixtureDir('tiny-sd'). */
export function fixtureDir(name: string): string {
  return join(FIXTURES_DIR, name);
}
