#!/bin/sh
# Regenerates the build logs in this directory with the host's gcc: the
# sources in before/ and after/ are built with the Makefile here (a
# miniature of kbuild's O= rules) in a ktest-style slot, in tree, and in
# a build subdirectory of the tree. The temp dir is rewritten to
# /srv/maint/.cache/ktest (slot) or /srv/maint/src (tree) so the logs
# are the same on every machine.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
slot=$tmp/slots/5d1c0ffee0d1c0de
for v in before after; do
	rm -rf "$slot"
	mkdir -p "$slot/obj"
	cp -r "$here/$v" "$slot/src"
	cp "$here/Makefile" "$slot/src/"
	LC_ALL=C make -C "$slot/src" O="$slot/obj" >"$tmp/log" 2>&1
	sed "s|$tmp|/srv/maint/.cache/ktest|g" "$tmp/log" >"$here/slot-$v.log"
done
# In tree (srctree is ".") and in a subdirectory of the tree ("..").
rm -rf "$tmp/linux"
cp -r "$here/after" "$tmp/linux"
cp "$here/Makefile" "$tmp/linux/"
LC_ALL=C make -C "$tmp/linux" >"$tmp/log" 2>&1
sed "s|$tmp|/srv/maint/src|g" "$tmp/log" >"$here/intree-after.log"
# As on a terminal in a UTF-8 locale (colours, hyperlinks, curly
# quotes), and without columns.
rm -f "$tmp"/linux/fs/demo/*.o
LC_ALL=C.UTF-8 make -C "$tmp/linux" EXTRA_CFLAGS="-fdiagnostics-color=always -fdiagnostics-urls=always" >"$tmp/log" 2>&1
sed "s|$tmp|/srv/maint/src|g" "$tmp/log" >"$here/intree-color.log"
rm -f "$tmp"/linux/fs/demo/*.o
LC_ALL=C make -C "$tmp/linux" EXTRA_CFLAGS=-fno-show-column >"$tmp/log" 2>&1
sed "s|$tmp|/srv/maint/src|g" "$tmp/log" >"$here/intree-nocolumn.log"
rm -f "$tmp"/linux/fs/demo/*.o
mkdir "$tmp/linux/build"
LC_ALL=C make -C "$tmp/linux" O="$tmp/linux/build" >"$tmp/log" 2>&1
sed "s|$tmp|/srv/maint/src|g" "$tmp/log" >"$here/subdir-after.log"
