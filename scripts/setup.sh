#!/usr/bin/env bash
# Installs what ktest needs on Debian bookworm, builds the guest's static
# fio (scripts/build-fio.sh), then builds ktest with 'make build' (the one
# way ktest is built, so --version is stamped alike everywhere).
# Idempotent: packages already present are not reinstalled, apt-get update
# runs only when something is missing, and fio is built once per version.
#
#   scripts/setup.sh                  packages and fio, then bin/ktest
#   scripts/setup.sh --packages-only  packages only (a CI job that gets
#                                     ktest and its guest image as
#                                     artifacts, or root
#                                     preparing a shell runner)
set -euo pipefail

build=1
case "${1:-}" in
  "") ;;
  --packages-only) build=0 ;;
  *) echo "usage: $0 [--packages-only]" >&2; exit 2 ;;
esac

packages=(
  qemu-system-x86 linux-source-6.1 fio e2fsprogs xfsprogs btrfs-progs
  gcc make bc flex bison libelf-dev libssl-dev cpio git xz-utils patch
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done

if [ "${#missing[@]}" -gt 0 ]; then
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    # A CI shell runner's user usually may not install packages: say
    # what to install rather than wait for a password.
    if ! sudo -n true 2>/dev/null; then
      echo "setup: missing Debian packages: ${missing[*]}" >&2
      echo "setup: install them as root (apt-get install ${missing[*]}, or $0 --packages-only)" >&2
      exit 1
    fi
    sudo="sudo -n"
  fi
  echo "setup: installing ${missing[*]}" >&2
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
else
  echo "setup: all Debian packages present" >&2
fi

[ "$build" -eq 1 ] || exit 0
cd "$(dirname "$0")/.."
# The guest's fio, static (see the script): without it ktest still works,
# with Debian's fio and about 2 s more a boot and 0.6 s more a fio run.
./scripts/build-fio.sh || echo "setup: no static fio; the guest carries Debian's (runs record which)" >&2

make --no-print-directory build
echo "setup: built $(pwd)/bin/ktest" >&2
