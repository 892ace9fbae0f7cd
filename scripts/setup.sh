#!/usr/bin/env bash
# Installs what ktest needs on Debian bookworm, then builds ktest.
# Idempotent: packages already present are not reinstalled, and
# apt-get update runs only when something is missing.
set -euo pipefail

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
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "setup: installing ${missing[*]}" >&2
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
else
  echo "setup: all Debian packages present" >&2
fi

cd "$(dirname "$0")/.."
if [ -f go.mod ]; then
  mkdir -p bin
  go build -o bin/ktest ./cmd/ktest
  echo "setup: built $(pwd)/bin/ktest" >&2
fi
