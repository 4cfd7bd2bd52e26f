#!/usr/bin/env bash
# Installs the Debian 12 packages that building, testing and running Otedama need.
#
# Idempotent and fast when nothing is missing: every package is checked with dpkg-query, and apt runs
# (one `apt-get update`, one `apt-get install`) only when something is missing. Runs as root, or through
# sudo when it is available. Used by `make deps` (and so by `make run`, `make test`, .ci/run) and by
# packaging/docker/Dockerfile.
#
# Environment:
#   OTEDAMA_DEPS_DRY_RUN=1   print what would be installed, install nothing
set -euo pipefail

# One package per line, grouped by purpose. Later issues add lines here (and only here).
PACKAGES=(
  # toolchain and build system
  build-essential         # gcc/g++ (C++20), make, dpkg-dev (meson reads the multiarch libdir from it)
  meson                   # build system (Debian 12: 1.0.1)
  ninja-build             # meson backend
  pkg-config              # dependency lookup for meson and for the plugin SDK (otedama-plugin.pc)
  # libraries of the host
  libboost1.81-dev        # Asio and friends; Debian 12's libboost-dev is 1.74, too old (1.81 conflicts with it: fine)
  libpoco-dev             # admin REST/WebSocket API (PocoNet, PocoJSON, PocoUtil)
  libsqlite3-dev          # share/credit ledger
  libspdlog-dev           # logging (pulls libfmt-dev)
  libyaml-cpp-dev         # etc/otedama.yaml
  # tools used by tests and scripts
  libgtest-dev            # GoogleTest unit tests
  sqlite3                 # inspecting ledgers in tests and by hand
  python3                 # scripts/test-summary.py (standard library only)
  prometheus              # promtool: the monitoring-serve test runs `promtool check metrics` on a scrape of /metrics
  ca-certificates         # TLS to coin nodes and upstream pools
  # host services and backends
  libusb-1.0-0-dev        # USB host service for ASIC plugins (meson feature `usb`)
  libssl-dev              # TLS for stratum+ssl:// (Boost.Asio ssl over OpenSSL)
  libhwloc-dev            # CPU backend: core and NUMA topology
  librandomx-dev          # randomx algorithm plugin (the reference RandomX 1.1.x that monerod uses)
  litecoind               # the bitcoind transport's integration test (meson suite nodes): two real litecoind 0.21 regtest nodes
  libbenchmark-dev        # benchmarks/ (Google Benchmark; optional: meson skips them without it)
  ocl-icd-opencl-dev      # OpenCL backend: the ICD loader (libOpenCL.so, OpenCL.pc; meson feature `opencl`)
  opencl-headers          # OpenCL backend: CL/cl.h
  pocl-opencl-icd         # OpenCL on the CPU (PoCL): the OpenCL backend's tests run on it where no GPU is present
  libvulkan-dev           # Vulkan backend: the loader (libvulkan.so, vulkan.pc; meson feature `vulkan`) and vulkan/vulkan.h
  glslc                   # Vulkan backend: compiles kernels/vulkan/*.comp (GLSL) to SPIR-V at build time
  mesa-vulkan-drivers     # Vulkan on the CPU (Mesa's lavapipe): the Vulkan backend's tests run on it where no GPU is present
  libshaderc-dev          # Vulkan backend: run-time GLSL compiler for KawPow's per-period shaders (optional in meson; pulls glslang-dev, spirv-tools)
  # the dashboard's browser test (suite `browser`, tests/browser/test_dashboard.py)
  chromium                # headless Chromium (--headless=new) that opens the dashboard of a running devnet pool
  chromium-driver         # chromedriver: the W3C WebDriver server the test drives Chromium through (python3 urllib)
  fonts-dejavu-core       # a font for Chromium (it recommends none), so the kept screenshot is readable
  # coin nodes for the integration tests (suite `nodes`)
  monero                  # monerod 0.18: tests/plugins/transport/monerod runs a --regtest --offline node on loopback
)

die() { printf 'install-deps: error: %s\n' "$*" >&2; exit 1; }
log() { printf 'install-deps: %s\n' "$*"; }

command -v dpkg-query >/dev/null 2>&1 || die "dpkg-query not found: this script supports Debian 12 (bookworm) only"

missing=()
for pkg in "${PACKAGES[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
  [[ $status == "install ok installed" ]] || missing+=("$pkg")
done

if ((${#missing[@]} == 0)); then
  exit 0
fi

log "missing packages: ${missing[*]}"
if [[ ${OTEDAMA_DEPS_DRY_RUN:-} == 1 ]]; then
  log "dry run (OTEDAMA_DEPS_DRY_RUN=1): not installing"
  exit 0
fi

# Root runs apt directly; anyone else needs sudo. Without a terminal (CI, no stdin) sudo must not wait for a
# password that nobody can type: -n makes it fail at once instead.
if [[ $(id -u) -eq 0 ]]; then
  as_root=()
elif command -v sudo >/dev/null 2>&1; then
  as_root=(sudo)
  [[ -t 0 ]] || as_root+=(-n)
else
  die "not root and sudo is not installed: run as root, or install these packages first: ${missing[*]}"
fi

if [[ -r /etc/os-release ]]; then
  # shellcheck disable=SC1091
  . /etc/os-release
  if [[ ${ID:-} != debian || ${VERSION_ID:-} != 12 ]]; then
    log "warning: written for Debian 12, this is ${PRETTY_NAME:-unknown}; trying anyway"
  fi
fi

# Wait for another apt/dpkg (unattended-upgrades on a fresh machine) rather than failing on its lock.
apt_opts=(-o DPkg::Lock::Timeout=300 -o APT::Get::Assume-Yes=true)

log "apt-get update"
"${as_root[@]}" apt-get "${apt_opts[@]}" -q update ||
  die "apt-get update failed (network? /etc/apt/sources.list?)"

log "apt-get install ${missing[*]}"
"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive \
  apt-get "${apt_opts[@]}" -q install -y --no-install-recommends "${missing[@]}" ||
  die "apt-get install failed for: ${missing[*]}"

log "done"
