#!/usr/bin/env bash
# Installs Debian's chromium for the web console's browser test (test/integration/console), unless a Chromium
# is already there. Nothing is downloaded at npm install time; the test drives this system browser headless.
set -euo pipefail

for candidate in "${PLATEAU_CHROMIUM:-}" /usr/bin/chromium /usr/bin/chromium-browser /usr/bin/google-chrome; do
  if [ -n "$candidate" ] && [ -x "$candidate" ]; then
    echo "install-chromium: using $candidate"
    exit 0
  fi
done

if ! command -v apt-get >/dev/null 2>&1; then
  echo "install-chromium: no chromium and no apt-get; install Chromium and set PLATEAU_CHROMIUM" >&2
  exit 1
fi
sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends chromium >/dev/null
echo "install-chromium: installed $(command -v chromium)"
