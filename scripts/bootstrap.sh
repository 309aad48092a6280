#!/usr/bin/env bash
# Makes a fresh Debian/Ubuntu machine with Node 20+ ready to run FishChat, then builds it.
# Idempotent and quick when everything is already there. Used by `npm start`, `npm test`, `npm run bench`.
#   bootstrap.sh start|bench   redis-server
#   bootstrap.sh test          redis-server, plus chromium for the dashboard browser test (best effort)
set -euo pipefail
mode="${1:-start}"
cd "$(dirname "$0")/.."

sudo_cmd=""
if [ "$(id -u)" -ne 0 ]; then sudo_cmd="sudo"; fi
apt_install() {
  echo "bootstrap: installing $* with apt-get" >&2
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

if ! command -v redis-server >/dev/null 2>&1; then
  apt_install redis-server
fi
if [ "$mode" = "test" ] && [ ! -x /usr/bin/chromium ]; then
  # The browser test skips (and says why) when chromium cannot be installed.
  apt_install chromium || echo "bootstrap: chromium could not be installed; the browser test will be skipped" >&2
fi

# Node packages: install when missing or when package-lock.json changed since the last install.
# `npm ci`, not `npm install`: it installs exactly what the lock file says and never rewrites it,
# so a fresh clone stays clean after its first `npm start` (`npm install` re-resolves the
# platform-specific optional packages and may save the result into the tracked lock file).
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund --loglevel=error
fi

npm run -s build
