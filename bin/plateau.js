#!/usr/bin/env node
// Entry point of the `plateau` command: Node >= 22.18 runs the TypeScript sources directly (type stripping).
// Started by an older Node (a shell's `node` 20), it hands over to the Node 22 that `npm ci` installed.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const [major = 0, minor = 0] = process.versions.node.split('.').map(Number);
if (major < 22 || (major === 22 && minor < 18)) {
  // The `node` dev dependency's binary; npm scripts and npx find it on PATH, a direct start (npm link, a path)
  // does not, so re-run this file with it.
  const own = fileURLToPath(new URL('../node_modules/node/bin/node', import.meta.url));
  if (!existsSync(own)) {
    process.stderr.write(
      `plateau needs Node.js 22.18 or newer (found ${process.versions.node}).\n` +
        "Run `npm ci` in plateau's folder: it installs Node 22 for plateau alone.\n",
    );
    process.exit(1);
  }
  const child = spawn(own, [fileURLToPath(import.meta.url), ...process.argv.slice(2)], { stdio: 'inherit' });
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(signal, () => child.kill(signal));
  child.on('exit', (code, signal) => process.exit(code ?? (signal === 'SIGINT' ? 130 : 1)));
} else {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
  const { main } = await import('../cli/main.ts');
  process.exitCode = await main(process.argv.slice(2), {
    version: pkg.version,
    root: fileURLToPath(new URL('..', import.meta.url)),
    out: process.stdout,
    err: process.stderr,
  });
}
