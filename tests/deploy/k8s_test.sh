#!/usr/bin/env bash
# Checks the Kubernetes manifests, deploy/k8s (tools/deploy/check-k8s.mjs says what):
#   1. installs tools/deploy's npm dependencies when missing or stale;
#   2. renders every overlay (with kubectl too when it is on PATH: both must agree),
#      validates every object against the API schemas, and asserts the deployment's
#      requirements; given the viya-mv binary, each container's command line runs through
#      it with --print-config;
#   3. runs the checker's self-tests (node --test): the renderer against kubectl, and a
#      broken copy of the manifests for each requirement, which must fail.
#
#   tests/deploy/k8s_test.sh [path/to/viya-mv]   # default: build/release/viya-mv if built
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
  echo "k8s_test: no executable $binary" >&2
  exit 2
fi

"$tools/ensure-deps.sh"

echo "== check-k8s (deploy/k8s)"
node "$tools/check-k8s.mjs" --root "$repo" ${binary:+--binary "$binary"}

echo "== self-tests of the manifest checks (node --test)"
VIYA_MV_BINARY="$binary" node --test "$tools/test/kustomize.test.mjs" "$tools/test/check-k8s.test.mjs"
echo "k8s_test: OK"
