#!/usr/bin/env bash
# Installs the Debian packages viya-mv needs to build and test. Idempotent: a machine
# that already has them returns at once without touching the package lists.
# --fuzz: also clang and its sanitizer/libFuzzer runtimes, for `make fuzz`.
# --bench: also wrk and PostgreSQL 15 (the baselines of bench/), for `make bench`.
set -euo pipefail

fuzz=0
bench=0
for arg in "$@"; do
  case "$arg" in
    --fuzz) fuzz=1 ;;
    --bench) bench=1 ;;
    *)
      echo "usage: $0 [--fuzz] [--bench]" >&2
      exit 2
      ;;
  esac
done

packages=(
  g++ cmake make ninja-build pkg-config
  libsqlite3-dev libssl-dev libmongoc-dev libbson-dev
  prometheus-cpp-dev libboost-dev zlib1g-dev libxxhash-dev libcli11-dev libspdlog-dev libfmt-dev
  nlohmann-json3-dev libsimdjson-dev libtomlplusplus-dev libabsl-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  sqlite3 curl clang-format
)
if ((fuzz)); then
  packages+=(clang libclang-rt-14-dev)
fi
if ((bench)); then
  packages+=(wrk postgresql-15 python3)
fi
# The OpenAPI checks (scripts/check-openapi.sh) run on Node.js and npm: Debian's when the
# machine has none of its own (a Node.js installed otherwise is left alone).
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  packages+=(nodejs npm)
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]} == 0)); then
  exit 0
fi

echo "install-deps: installing ${missing[*]}"
sudo_cmd=()
if [ "$(id -u)" != 0 ]; then sudo_cmd=(sudo); fi
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -qq
"${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
