#!/usr/bin/env bash
# Installs the npm dependencies of one tools/ folder with `npm ci`, only when node_modules
# does not hold exactly what its package-lock.json says: the stamp is the lock file's
# hash, written after a successful install, so a warm machine does nothing. Tests running
# side by side wait for each other (flock). No browser is ever downloaded.
#
#   scripts/npm-tools.sh tools/NAME MIN_NODE_MAJOR
set -euo pipefail

if [[ $# -ne 2 ]]; then
  echo "usage: $0 tools/NAME MIN_NODE_MAJOR" >&2
  exit 2
fi
tools="$(cd "$1" && pwd)"
name="tools/$(basename "$tools")"
min_node="$2"

for tool in node npm; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "$name: '$tool' is not installed; it needs Node.js $min_node or newer with npm" \
      "(scripts/install-deps.sh installs them)" >&2
    exit 1
  fi
done
node_major="$(node -p 'process.versions.node.split(".")[0]')"
if ((node_major < min_node)); then
  echo "$name: Node.js $(node --version) is too old; it needs $min_node or newer" >&2
  exit 1
fi

exec 9<"$tools/package-lock.json"
flock 9
stamp="$tools/node_modules/.npm-tools-lock.sha256"
want="$(sha256sum "$tools/package-lock.json" | cut -d' ' -f1)"
if [[ ! -f "$stamp" || "$(cat "$stamp")" != "$want" ]]; then
  echo "== npm ci ($name)"
  (cd "$tools" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error)
  echo "$want" >"$stamp"
fi
