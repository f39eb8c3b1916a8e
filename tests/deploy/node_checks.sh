#!/usr/bin/env bash
# Checks a deployment artifact with tools/deploy (its .mjs files say what), then runs the
# checker's self-tests (node --test), which break a copy for each rule and must fail:
#   k8s         deploy/k8s: every overlay rendered (with kubectl too when on PATH: both
#               must agree), every object validated against the Kubernetes API schemas,
#               the deployment's requirements; given the binary, each container's command
#               line runs through it with --print-config.
#   dockerfile  Dockerfile and .dockerignore, without building: dockerfilelint, stages,
#               version label and check, user, entrypoint; given the binary, the version
#               check run on it and the runtime packages against the libraries it loads.
#
#   tests/deploy/node_checks.sh k8s|dockerfile [path/to/viya-mv]   # default: build/release/viya-mv
#
# Exits non-zero when any step fails.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
tools="$repo/tools/deploy"

usage() {
  echo "usage: $0 k8s|dockerfile [path/to/viya-mv]" >&2
  exit 2
}
[[ $# -ge 1 && $# -le 2 ]] || usage
case "$1" in
  k8s) checker=check-k8s.mjs self_tests=("$tools/test/kustomize.test.mjs" "$tools/test/check-k8s.test.mjs") ;;
  dockerfile) checker=check-dockerfile.mjs self_tests=("$tools/test/check-dockerfile.test.mjs") ;;
  *) usage ;;
esac
binary="${2:-}"
if [[ -z "$binary" && -x "$repo/build/release/viya-mv" ]]; then
  binary="$repo/build/release/viya-mv"
fi
if [[ -n "$binary" && ! -x "$binary" ]]; then
  echo "node_checks: no executable $binary" >&2
  exit 2
fi

"$tools/ensure-deps.sh"

echo "== $checker"
node "$tools/$checker" --root "$repo" ${binary:+--binary "$binary"}

echo "== self-tests of $checker (node --test)"
VIYA_MV_BINARY="$binary" node --test "${self_tests[@]}"
echo "node_checks $1: OK"
