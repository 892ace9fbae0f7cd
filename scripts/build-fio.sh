#!/usr/bin/env bash
# Builds the fio that ktest puts in its guest: Debian's own fio source
# (the version of the installed fio package, checked against the Sources
# index apt trusts), configured static and without the engines ktest never
# uses (rbd, gluster, nbd, rdma, pmem, http, ...), installed as
# /usr/local/libexec/ktest/fio.
#
# Why: Debian's fio links 64 shared libraries (ceph, ICU, GnuTLS, ...).
# Under TCG every fio start then costs 0.6 s of dynamic loading, and the
# libraries make 75 of the guest image's 98 MB, which the kernel unpacks
# on every boot. The static one starts in 0.04 s in a 24 MB image: a boot
# is 2 s shorter, and each of a run's ~500 fio runs 0.6 s. Debian's
# patches to fio touch only its build (configure log, hardening flags, man
# path), so the engines measured are the same code.
#
# Idempotent: does nothing when the installed build is of the installed
# package's version. Without it ktest uses Debian's fio, and records which
# fio a run used so that runs with different ones are never compared.
#
#   scripts/build-fio.sh        build and install (root, or sudo -n)
set -euo pipefail

dest=/usr/local/libexec/ktest/fio
version=$(dpkg-query -W -f='${Version}' fio)
upstream=${version%%-*}
upstream=${upstream#*:}

if [ -x "$dest" ] && [ "$("$dest" --version)" = "fio-$upstream" ]; then
  echo "setup: $dest is fio-$upstream (static)" >&2
  exit 0
fi

sudo=""
if [ "$(id -u)" -ne 0 ]; then
  if ! sudo -n true 2>/dev/null; then
    echo "setup: cannot install $dest without root; ktest will use Debian's fio (slower boots)" >&2
    exit 1
  fi
  sudo="sudo -n"
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/apt/lists/partial"
# A private deb-src list, so the host's apt configuration is not changed:
# the same mirrors and keyring as its binary sources.
src_uri=$(sed -n 's/^URIs: *//p' /etc/apt/sources.list.d/debian.sources 2>/dev/null | head -n1)
src_uri=${src_uri:-http://deb.debian.org/debian}
suite=$(. /etc/os-release && echo "$VERSION_CODENAME")
cat >"$work/apt/src.sources" <<EOF
Types: deb-src
URIs: $src_uri
Suites: $suite $suite-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
apt_opts=(-o Dir::Etc::SourceList=/dev/null -o Dir::Etc::SourceParts="$work/apt"
  -o Dir::State::Lists="$work/apt/lists" -o APT::Sandbox::User=root)
echo "setup: fetching Debian's fio $version source" >&2
apt-get -qq "${apt_opts[@]}" update
(cd "$work" && apt-get -qq "${apt_opts[@]}" source --download-only "fio=$version" >/dev/null)
orig=""
for f in "$work"/fio_"$upstream".orig.tar.*; do
  case "$f" in *.asc) ;; *) orig=$f ;; esac
done
[ -n "$orig" ] || { echo "setup: no fio_$upstream.orig.tar.* in Debian's source package" >&2; exit 1; }
tar -xf "$orig" -C "$work"

echo "setup: building a static fio-$upstream (about a minute)" >&2
cd "$work/fio-$upstream"
./configure --build-static --disable-native \
  --disable-numa --disable-rdma --disable-rados --disable-rbd --disable-http \
  --disable-gfapi --disable-libnfs --disable-pmem --disable-xnvme \
  --disable-libzbc --disable-tcmalloc --disable-dfs --disable-lex >"$work/configure.log"
make -s -j"$(nproc)" fio >"$work/make.log" 2>&1 || { tail -n 30 "$work/make.log" >&2; exit 1; }
[ "$(./fio --version)" = "fio-$upstream" ]
for engine in pvsync io_uring; do # the engines ktest measures
  ./fio --enghelp | tr -d '[:blank:]' | grep -qx "$engine" || { echo "setup: the built fio lacks $engine" >&2; exit 1; }
done
$sudo install -D -m 0755 fio "$dest"
echo "setup: installed $dest (fio-$upstream, static)" >&2
