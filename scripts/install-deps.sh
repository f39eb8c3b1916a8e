#!/usr/bin/env bash
# Installs the Debian packages viya-mv needs. Idempotent: a machine that already has them
# returns at once, printing nothing and without touching the package lists.
#
#   scripts/install-deps.sh                 # build and test (make build, make test)
#   scripts/install-deps.sh --fuzz          # also clang and its sanitizer/libFuzzer runtimes (make fuzz)
#   scripts/install-deps.sh --bench         # also wrk and PostgreSQL 15, the baselines of bench/ (make bench)
#   scripts/install-deps.sh --build         # only what building the binary needs (the Dockerfile's build stage)
#   scripts/install-deps.sh --runtime       # only the libraries the binary loads, and CA certificates (the image)
#   scripts/install-deps.sh --list-runtime  # print the --runtime packages, one a line, and exit
#
# The test tools of the default mode: Node.js and npm (the OpenAPI and deploy checks),
# python3 with PyYAML (tests/deploy/rules_test.sh), Debian's chromium (headless page tests),
# and promtool + prometheus WITHOUT the server package: its .deb is unpacked into
# build/tools/prometheus, with build/tools/bin/{promtool,prometheus} linking to it (or to
# /usr/bin when the prometheus package is installed).
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

usage() {
  echo "usage: $0 [--fuzz] [--bench] | --build | --runtime | --list-runtime" >&2
  exit 2
}

mode="test"
fuzz=0
bench=0
for arg in "$@"; do
  case "$arg" in
    --fuzz) fuzz=1 ;;
    --bench) bench=1 ;;
    --build | --runtime | --list-runtime)
      [[ "$mode" == test ]] || usage
      mode="${arg#--}"
      ;;
    *) usage ;;
  esac
done
if [[ "$mode" != test ]] && ((fuzz || bench)); then usage; fi

# The packages of the libraries build/release/viya-mv loads (its NEEDED entries: `readelf
# -d`, each resolved with `ldd` and `dpkg -S`); apt brings what they load in turn. Keep it in
# step with the libraries src/ links: tests/deploy/node_checks.sh dockerfile checks it against the
# binary.
runtime_packages=(
  libc6 libgcc-s1 libstdc++6
  libsqlite3-0 libssl3 zlib1g libmongoc-1.0-0 libbson-1.0-0
  libprometheus-cpp-core1.0 libxxhash0 libspdlog1.10 libfmt9
  libsimdjson14 libtomlplusplus3 libabsl20220623
)

if [[ "$mode" == list-runtime ]]; then
  printf '%s\n' "${runtime_packages[@]}"
  exit 0
fi

build_packages=(
  g++ cmake make ninja-build pkg-config
  libsqlite3-dev libssl-dev libmongoc-dev libbson-dev
  prometheus-cpp-dev libboost-dev zlib1g-dev libxxhash-dev libcli11-dev libspdlog-dev libfmt-dev
  nlohmann-json3-dev libsimdjson-dev libtomlplusplus-dev libabsl-dev
  # CMakeLists.txt finds GoogleTest whenever it configures, tests built or not.
  libgtest-dev libgmock-dev
)

packages=()
prometheus_tools=0
case "$mode" in
  runtime) packages=("${runtime_packages[@]}" ca-certificates) ;;
  build) packages=("${build_packages[@]}") ;;
  test)
    packages=("${build_packages[@]}" libbenchmark-dev sqlite3 curl clang-format
      python3 python3-yaml chromium)
    if ((fuzz)); then
      packages+=(clang libclang-rt-14-dev)
    fi
    if ((bench)); then
      packages+=(wrk postgresql-15 python3)
    fi
    # The OpenAPI and deploy checks run on Node.js and npm: Debian's when the machine has
    # none of its own (a Node.js installed otherwise is left alone).
    if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
      packages+=(nodejs npm)
    fi
    prometheus_tools=1
    ;;
esac

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

# promtool and prometheus, from the prometheus package without installing it (its server,
# users and service are not wanted): build/tools/bin/* link to the system's when the
# package is installed, else to build/tools/prometheus, its unpacked .deb.
tools="$repo/build/tools"
system_prometheus=0
download_prometheus=0
if ((prometheus_tools)); then
  if dpkg-query -W -f='${Status}' prometheus 2>/dev/null | grep -q "install ok installed"; then
    system_prometheus=1
  elif [[ ! -x "$tools/prometheus/usr/bin/promtool" || ! -x "$tools/prometheus/usr/bin/prometheus" ]]; then
    download_prometheus=1
  fi
fi

# Points build/tools/bin/$1 at $2 unless it already does.
link_tool() {
  if [[ "$(readlink "$tools/bin/$1" 2>/dev/null)" != "$2" ]]; then
    mkdir -p "$tools/bin"
    ln -sfn "$2" "$tools/bin/$1"
  fi
}

sudo_cmd=()
if [ "$(id -u)" != 0 ]; then sudo_cmd=(sudo); fi
export DEBIAN_FRONTEND=noninteractive

if ((${#missing[@]} > 0 || download_prometheus)); then
  "${sudo_cmd[@]}" apt-get update -qq
fi
if ((${#missing[@]} > 0)); then
  echo "install-deps: installing ${missing[*]}"
  "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
if ((download_prometheus)); then
  echo "install-deps: unpacking promtool and prometheus into $tools/prometheus"
  tmp="$(mktemp -d)"
  trap 'rm -rf "$tmp"' EXIT
  # apt fetches as the unprivileged _apt user, which must be able to write here.
  chmod 1777 "$tmp"
  (cd "$tmp" && apt-get download -qq prometheus)
  rm -rf "$tools/prometheus"
  mkdir -p "$tools"
  dpkg-deb -x "$tmp"/prometheus_*.deb "$tools/prometheus"
  rm -rf "$tmp"
  trap - EXIT
fi
if ((system_prometheus)); then
  link_tool promtool /usr/bin/promtool
  link_tool prometheus /usr/bin/prometheus
elif ((prometheus_tools)); then
  # Relative, so that the links survive a move of the work tree.
  link_tool promtool ../prometheus/usr/bin/promtool
  link_tool prometheus ../prometheus/usr/bin/prometheus
fi
