// Enforces the dependency direction of docs/architecture.md on the real tree, and proves the checker catches each
// kind of forbidden edge on a scratch tree.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { findViolations, importSpecifiers } from './dependency-rules.ts';

function scratchTree(files: Record<string, string>): string {
  const root = mkdtempSync(join(tmpdir(), 'plateau-arch-'));
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), text);
  }
  return root;
}

describe('dependency rules', () => {
  it('hold on the repository', () => {
    expect(findViolations(process.cwd())).toEqual([]);
  });

  it('parse static, type-only, re-export, dynamic and require imports', () => {
    const text = [
      "import { a } from './a.ts';",
      "import type { B } from '../b.ts';",
      "export * from './c.ts';",
      "const d = await import('./d.ts');",
      "const e = require('e');",
      "import 'f';",
    ].join('\n');
    expect(importSpecifiers(text)).toEqual(['./a.ts', '../b.ts', './c.ts', './d.ts', 'e', 'f']);
  });

  const forbidden: Array<[string, Record<string, string>]> = [
    ['a function imports the trainer', { 'functions/x/x.ts': "import '../../trainer-image/src/main.ts';" }],
    ['a function imports another function', { 'functions/x/x.ts': "import { y } from '../y/y.ts';" }],
    ['the trainer imports a function', { 'trainer-image/src/main.ts': "import '../../functions/x/x.ts';" }],
    [
      'autodiff imports onnxruntime-node',
      { 'trainer-image/src/autodiff/a.ts': "import * as ort from 'onnxruntime-node';" },
    ],
    [
      'onnx/ imports runtime/',
      { 'trainer-image/src/onnx/a.ts': "import { run } from '../runtime/session.ts';" },
    ],
    [
      'onnx/ imports autodiff/',
      { 'trainer-image/src/onnx/a.ts': "import type { Dim } from '../autodiff/grad-rule.ts';" },
    ],
    [
      'train/ imports onnxruntime-node',
      { 'trainer-image/src/train/a.ts': "import ort from 'onnxruntime-node';" },
    ],
    [
      'infra imports function code',
      { 'infra/stack.ts': "import { handler } from '../functions/x/handler.ts';" },
    ],
    ['infra imports trainer code', { 'infra/stack.ts': "import '../trainer-image/src/main.ts';" }],
    ['shared imports infra', { 'shared/a.ts': "import '../infra/stack.ts';" }],
    ['shared imports aws-cdk-lib', { 'shared/a.ts': "import { Stack } from 'aws-cdk-lib';" }],
    [
      'shared outside aws/ imports the SDK',
      { 'shared/a.ts': "import { S3Client } from '@aws-sdk/client-s3';" },
    ],
    ['shared imports the cli', { 'shared/a.ts': "const m = await import('../cli/main.ts');" }],
    ['the console imports infra', { 'console/a.ts': "import '../infra/embedded/embedded-pipeline.ts';" }],
    ['the console imports the cli', { 'console/a.ts': "import '../cli/commands/status.ts';" }],
  ];

  it.each(forbidden)('catch: %s', (_label, files) => {
    const root = scratchTree(files);
    try {
      expect(findViolations(root)).toHaveLength(1);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it('allow the intended edges', () => {
    const root = scratchTree({
      'functions/x/handler.ts': "import { x } from './x.ts';\nimport { ENV } from '../../shared/env.ts';",
      'trainer-image/src/runtime/s.ts': "import * as ort from 'onnxruntime-node';",
      'trainer-image/src/autodiff/a.ts': "import type { Dim } from '../onnx/typed-values.ts';",
      'trainer-image/src/train/t.ts':
        "import { s } from '../runtime/s.ts';\nimport '../../../shared/dvar.ts';",
      'infra/embedded/l.ts': "import { handler } from '../../functions/x/handler.ts';",
      'shared/aws/s3.ts': "import { S3Client } from '@aws-sdk/client-s3';",
      'cli/main.ts': "import '../infra/embedded/l.ts';\nimport '../trainer-image/src/main.ts';",
      'cli/up.ts': "import { startConsole } from '../console/console-server.ts';",
      'console/console-server.ts': "import { jobKeys } from '../shared/keys.ts';\nimport './access.ts';",
    });
    try {
      expect(findViolations(root)).toEqual([]);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
