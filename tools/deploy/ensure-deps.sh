#!/usr/bin/env bash
# tools/deploy's npm dependencies (kubernetes-models, dockerfilelint, yaml), when stale.
exec "$(dirname "${BASH_SOURCE[0]}")/../../scripts/npm-tools.sh" "$(dirname "${BASH_SOURCE[0]}")" 18
