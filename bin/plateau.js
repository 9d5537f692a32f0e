#!/usr/bin/env node
// Entry point of the `plateau` command: Node >= 22.18 runs the TypeScript sources directly (type stripping).
// npm scripts and npx put node_modules/.bin first on PATH, where the `node` dev dependency provides Node 22.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const [major = 0, minor = 0] = process.versions.node.split('.').map(Number);
if (major < 22 || (major === 22 && minor < 18)) {
  process.stderr.write(
    `plateau needs Node.js 22.18 or newer (found ${process.versions.node}).\n` +
      'Start it through npm, which runs the Node 22 that `npm ci` installed: `npm start`, `npx plateau <command>`.\n',
  );
  process.exit(1);
}
const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
const { main } = await import('../cli/main.ts');
process.exitCode = await main(process.argv.slice(2), {
  version: pkg.version,
  root: fileURLToPath(new URL('..', import.meta.url)),
  out: process.stdout,
  err: process.stderr,
});
