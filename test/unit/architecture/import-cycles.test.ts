// No import cycles anywhere in the tree (sources, benches, scripts and tests), and proof on scratch trees that the
// walk finds one however it is imported.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { importCycles, importGraph } from './import-cycles.ts';

const TREE = [
  'shared',
  'functions',
  'trainer-image',
  'infra',
  'cli',
  'bench',
  'scripts',
  'models',
  'console',
  'bin',
  'test',
];

function cyclesIn(files: Record<string, string>): string[][] {
  const root = mkdtempSync(join(tmpdir(), 'plateau-cycles-'));
  try {
    for (const [path, text] of Object.entries(files)) {
      mkdirSync(dirname(join(root, path)), { recursive: true });
      writeFileSync(join(root, path), text);
    }
    return importCycles(importGraph(root, ['cli']));
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

describe('import cycles', () => {
  it('there are none in the repository', () => {
    const graph = importGraph(process.cwd(), TREE);
    // The walk saw the tree (cli/main.ts reaches every command), so an empty answer means something.
    expect(graph.get('cli/main.ts')).toContain('cli/commands/train.ts');
    expect(importCycles(graph)).toEqual([]);
  });

  it.each([
    ['a static import back', "import { b } from './b.ts';", "import { a } from './a.ts';"],
    ['a type-only import back', "import { b } from './b.ts';", "import type { A } from './a.ts';"],
    ['a lazy import one way', "const b = await import('./b.ts');", "import type { A } from './a.ts';"],
    ['a re-export', "export * from './b.ts';", "export { a } from './a.ts';"],
  ])('finds %s', (_label, a, b) => {
    expect(cyclesIn({ 'cli/a.ts': a, 'cli/b.ts': b })).toEqual([['cli/a.ts', 'cli/b.ts']]);
  });

  it('finds a longer loop through a subfolder, and nothing in a tree without one', () => {
    const loop = {
      'cli/a.ts': "import './sub/b.ts';",
      'cli/sub/b.ts': "import '../c.ts';",
      'cli/c.ts': "import { a } from './a.ts';\nimport 'node:fs';",
    };
    expect(cyclesIn(loop)).toEqual([['cli/a.ts', 'cli/c.ts', 'cli/sub/b.ts']]);
    expect(cyclesIn({ ...loop, 'cli/c.ts': "import 'node:fs';" })).toEqual([]);
  });
});
