#!/bin/sh
# scripts/install.sh: installs glidekey as a system service (README, "Install"). As root, in the
# checkout at /opt/glidekey (the unit runs /usr/bin/node /opt/glidekey/dist/main.js):
#   builds when needed (scripts/ensure-deps.sh --build: npm ci, npm run build), then
#   /usr/lib/sysusers.d/glidekey.conf (0644) and systemd-sysusers: the glidekey user
#   /etc/glidekey, /etc/glidekey/tls (0750, group glidekey)
#   /etc/glidekey/glidekey.yaml (0640, group glidekey) from contrib/glidekey.yaml, unless one exists
#   /var/lib/glidekey (0700, user glidekey)
#   /usr/libexec/glidekey/glidekey-collector-sync (0755, root): the root side, run by glidekey-reconfig.service
#   /etc/systemd/system/glidekey.service, glidekey-reconfig.path, glidekey-reconfig.service (0644)
#   systemctl daemon-reload
# With DESTDIR set (a package build, after npm ci && npm run build), the same files with the same
# modes go under $DESTDIR, and the build host is left alone: no build, no user, no owner or group
# (the package's file list sets them), no systemd-sysusers, no systemctl.
set -eu
umask 022
cd "$(dirname "$0")/.."
say() { printf 'glidekey install: %s\n' "$*" >&2; }
die() {
	say "$*"
	exit 1
}

root=${DESTDIR:-}
if [ -n "$root" ]; then
	case $root in /*) ;; *) die "DESTDIR must be an absolute path (it is $root)" ;; esac
	[ -f dist/.built ] || die "no build in $(pwd -P): run npm ci && npm run build first (with DESTDIR nothing is built)"
	say "DESTDIR=$root: installing under it; not building, not creating the glidekey user (systemd-sysusers), setting no owner or group, not calling systemctl"
	own_dir='' own_file='' own_data=''
else
	[ "$(id -u)" = 0 ] || die "run as root (it creates a user and writes /etc and /usr/lib)"
	here=$(pwd -P)
	opt=$(cd /opt/glidekey 2>/dev/null && pwd -P) || opt=''
	[ "$here" = "$opt" ] || die "this checkout is $here, but the unit runs /usr/bin/node /opt/glidekey/dist/main.js: put the checkout at /opt/glidekey (or a symlink to it) and run it from there"
	[ -x /usr/bin/node ] || die "the unit runs /usr/bin/node, and there is none: install Node.js 22 there"
	command -v systemd-sysusers >/dev/null 2>&1 || die "systemd-sysusers is missing: this layout needs systemd"
	sh scripts/ensure-deps.sh --build
	own_dir='-g glidekey' own_file='-g glidekey' own_data='-o glidekey -g glidekey'
fi

mkdir -p "$root/usr/lib/sysusers.d" "$root/usr/libexec/glidekey" "$root/etc/systemd/system" "$root/var/lib"
install -m 0644 contrib/glidekey.sysusers "$root/usr/lib/sysusers.d/glidekey.conf"
[ -n "$root" ] || systemd-sysusers /usr/lib/sysusers.d/glidekey.conf
# shellcheck disable=SC2086 # the ownership options are words, or nothing
install -d -m 0750 $own_dir "$root/etc/glidekey" "$root/etc/glidekey/tls"
if [ -e "$root/etc/glidekey/glidekey.yaml" ]; then
	say "kept the existing $root/etc/glidekey/glidekey.yaml (the shipped one is contrib/glidekey.yaml)"
else
	# shellcheck disable=SC2086
	install -m 0640 $own_file contrib/glidekey.yaml "$root/etc/glidekey/glidekey.yaml"
fi
# shellcheck disable=SC2086
install -d -m 0700 $own_data "$root/var/lib/glidekey"
install -m 0755 contrib/glidekey-collector-sync "$root/usr/libexec/glidekey/glidekey-collector-sync"
install -m 0644 contrib/systemd/glidekey.service contrib/systemd/glidekey-reconfig.path contrib/systemd/glidekey-reconfig.service "$root/etc/systemd/system/"
if [ -z "$root" ]; then
	systemctl daemon-reload
	say "installed; next: edit /etc/glidekey/glidekey.yaml, then systemctl enable --now glidekey glidekey-reconfig.path"
else
	say "installed under $root"
fi
