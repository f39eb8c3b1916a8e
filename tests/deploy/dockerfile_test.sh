#!/usr/bin/env bash
# Checks the Dockerfile without building it (tools/deploy/check-dockerfile.mjs says what):
# dockerfilelint; its stages, version label and check, user and entrypoint; .dockerignore;
# and, given the viya-mv binary, the Dockerfile's version check run on it and the runtime
# package list of scripts/install-deps.sh against the libraries it loads. Then the
# checker's self-tests (node --test): a broken copy for each rule, which must fail.
#
#   tests/deploy/dockerfile_test.sh [path/to/viya-mv]   # default: build/release/viya-mv if built
#
# Exits non-zero when any step fails.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
tools="$repo/tools/deploy"

if [[ $# -gt 1 ]]; then
  echo "usage: $0 [path/to/viya-mv]" >&2
  exit 2
fi
binary="${1:-}"
if [[ -z "$binary" && -x "$repo/build/release/viya-mv" ]]; then
  binary="$repo/build/release/viya-mv"
fi
if [[ -n "$binary" && ! -x "$binary" ]]; then
  echo "dockerfile_test: no executable $binary" >&2
  exit 2
fi

"$tools/ensure-deps.sh"

echo "== check-dockerfile (Dockerfile, .dockerignore)"
node "$tools/check-dockerfile.mjs" --root "$repo" ${binary:+--binary "$binary"}

echo "== self-tests of the Dockerfile checks (node --test)"
VIYA_MV_BINARY="$binary" node --test "$tools/test/check-dockerfile.test.mjs"
echo "dockerfile_test: OK"
