#!/bin/sh
# Builds DIR/root, a Debian 13 (trixie) chroot from Debian's own packages: Python 3.13,
# scikit-learn 1.4.2, xgboost 3.0.0, numpy 2.2, PyYAML (for the trainer of the test models), venv and pip; and DIR/bin/python3 and
# DIR/bin/run, which run its python3 (or any command) inside it. Needs root and debootstrap.
#
#   scripts/debian13.sh build/debian13
#
# The packages come from the mirror apt already uses (/etc/apt/sources.list.d/debian.sources,
# else /etc/apt/sources.list). A finished root has DIR/root/.complete; a second run reuses it.
set -eu
dir=${1:?usage: scripts/debian13.sh DIR}
here=$(cd "$(dirname "$0")" && pwd)
packages="python3-sklearn python3-xgboost python3-yaml python3-venv python3-pip make ca-certificates"

if [ ! -f "$dir/root/.complete" ]; then
	command -v debootstrap >/dev/null || { echo "scripts/debian13.sh: debootstrap not found: apt-get install debootstrap" >&2; exit 1; }
	mirror=$(sed -n 's/^URIs: *\([^ ]*debian\)$/\1/p' /etc/apt/sources.list.d/debian.sources 2>/dev/null | head -n 1)
	[ -n "$mirror" ] || mirror=$(sed -n 's/^deb  *\(http[^ ]*debian\) .*/\1/p' /etc/apt/sources.list 2>/dev/null | head -n 1)
	[ -n "$mirror" ] || mirror=http://deb.debian.org/debian
	rm -rf "$dir/root.tmp"
	mkdir -p "$dir"
	debootstrap --variant=minbase trixie "$dir/root.tmp" "$mirror"
	chroot "$dir/root.tmp" /bin/sh -c "apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $packages && apt-get clean"
	touch "$dir/root.tmp/.complete"
	rm -rf "$dir/root"
	mv "$dir/root.tmp" "$dir/root"
fi
mkdir -p "$dir/bin"
for name in python3 run; do
	cp "$here/debian13-run" "$dir/bin/$name.tmp" && chmod 0755 "$dir/bin/$name.tmp" && mv "$dir/bin/$name.tmp" "$dir/bin/$name"
done
"$dir/bin/python3" -c 'import sys, numpy, sklearn, xgboost; print("Debian 13: Python %d.%d.%d, numpy %s, scikit-learn %s, xgboost %s" % (sys.version_info[:3] + (numpy.__version__, sklearn.__version__, xgboost.__version__)))'
