#!/usr/bin/env bash
# Installs what lrnn needs on a Debian machine with Node 20: the system packages its native addon builds
# against (when missing; with sudo when not root), then `npm ci`, which builds the addon. Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
for pkg in libopenblas-dev g++ make python3 libopenmpi-dev openmpi-bin; do
  dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg")
done
if [ ${#need[@]} -gt 0 ]; then
  echo "setup: installing ${need[*]}"
  sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq "${need[@]}"
fi

npm ci --no-audit --no-fund
# npm ci runs the addon build but only warns if it fails (lrnn still runs on stock TF.js); say so loudly.
if [ ! -f build/Release/lrnn.node ]; then
  echo "setup: the native addon did not build; lrnn will run on stock TF.js, much slower (npm run build:native shows why)" >&2
  exit 1
fi
node bin/lrnn.js doctor
