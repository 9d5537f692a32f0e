// The infra tests skip asset bundling for speed; this bundles every Lambda handler with esbuild using the
// construct's own options, so a dependency that cannot be bundled (e.g. top-level await in a CJS bundle) fails here.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { build } from 'esbuild';
import { LAMBDA_BUNDLING } from '../../infra/constructs/pipeline-function.ts';

const functionNames = readdirSync(join(process.cwd(), 'functions'), { withFileTypes: true })
  .filter((entry) => entry.isDirectory())
  .map((entry) => entry.name);

describe('Lambda bundles', () => {
  it('finds the four functions', () => {
    expect(functionNames.sort()).toEqual(['evaluate-stop', 'finalize', 'request-stop', 'submit-job']);
  });

  it.each(functionNames)('%s bundles as an ES module for node22', async (name) => {
    const result = await build({
      entryPoints: [join(process.cwd(), 'functions', name, 'handler.ts')],
      bundle: true,
      platform: 'node',
      write: false,
      format: 'esm',
      target: LAMBDA_BUNDLING.target,
      mainFields: [...LAMBDA_BUNDLING.mainFields],
      external: [...LAMBDA_BUNDLING.externalModules],
      banner: { js: LAMBDA_BUNDLING.banner },
      logLevel: 'silent',
    });
    expect(result.errors).toEqual([]);
    expect(result.outputFiles[0]?.text).toContain('handler');
  });
});
