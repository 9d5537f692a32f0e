// The page and everything it loads, read once at start and served from memory: index.html, the stylesheet,
// the app (console/web/*.ts bundled by esbuild, types stripped) and Vega/Vega-Lite's browser builds from
// node_modules — every asset is local, so the console works without internet.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { build } from 'esbuild';

export interface Asset {
  readonly body: Uint8Array;
  readonly contentType: string;
}

/** URL path → asset. */
export type Assets = ReadonlyMap<string, Asset>;

const VENDOR = {
  '/vendor/vega.min.js': 'node_modules/vega/build/vega.min.js',
  '/vendor/vega-lite.min.js': 'node_modules/vega-lite/build/vega-lite.min.js',
} as const;

export async function loadAssets(projectRoot: string): Promise<Assets> {
  const web = join(projectRoot, 'console', 'web');
  const text = (path: string) => readFile(path, 'utf8');
  const app = await build({
    entryPoints: [join(web, 'app.ts')],
    bundle: true,
    write: false,
    format: 'esm',
    target: 'es2022',
    logLevel: 'silent',
  });
  const code = app.outputFiles[0]?.text;
  if (code === undefined) throw new Error('esbuild produced no bundle for console/web/app.ts');
  const utf8 = (body: string, contentType: string): Asset => ({
    body: new TextEncoder().encode(body),
    contentType: `${contentType}; charset=utf-8`,
  });
  const assets = new Map<string, Asset>([
    ['/', utf8(await text(join(web, 'index.html')), 'text/html')],
    ['/app.css', utf8(await text(join(web, 'app.css')), 'text/css')],
    ['/app.js', utf8(code, 'text/javascript')],
  ]);
  for (const [path, file] of Object.entries(VENDOR)) {
    assets.set(path, utf8(await text(join(projectRoot, file)), 'text/javascript'));
  }
  return assets;
}
