#!/usr/bin/env bash
# Provisions Node.js 22 LTS from the npm registry (package node@22) into .tools/node22 and prints its bin dir.
# Optional: `npm ci` already installs Node 22 for npm scripts and npx (the `node` dev dependency). This puts one on an
# interactive shell's PATH as well, before any `npm ci`: export PATH="$(bash scripts/node22.sh):$PATH".
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
dir="$root/.tools/node22"
if [ ! -x "$dir/node_modules/node/bin/node" ]; then
  mkdir -p "$dir"
  npm install --prefix "$dir" --no-save --no-audit --no-fund --loglevel=error node@22 >&2
fi
echo "$dir/node_modules/node/bin"
