# shellcheck shell=sh
# glidekey-sync-lib.sh: what glidekey-collector-sync and glidekey-gwms-sync share (sourced, never
# run). Both run as root and mirror a staging directory glidekey (its own user) writes into a
# directory another program reads, under the same rules:
#   - one run at a time (flock on $state/lock); the files it installed are listed in its manifest
#     ($state/manifest, one absolute path a line), outside the target directory;
#   - a file it did not install is never overwritten or removed (reported, exit 1, unless it holds
#     the same bytes);
#   - a staging entry that is a symlink, not a regular file, hard-linked, not owned by the staging
#     directory's owner, empty, too big or misnamed is refused (reported, exit 1, the copy kept);
#   - each file is copied to a temp file in the target directory, given its owner and mode (and, with
#     keep_mtime=1, the staging file's mtime), and renamed: never half a file.
# The sourcing script sets me, state and keep_mtime (0 or 1) first, and calls lock_state.
# Needs GNU coreutils (dd iflag=nofollow, stat -c, touch -d) and util-linux flock.

say() { printf '%s: %s\n' "$me" "$*" >&2; }
usage() {
	say "$1"
	exit 2
}
failed=0 changed=0
fail() {
	say "$*"
	failed=1
}
nl='
'
# Every path absolute, none holding a line feed (the manifest is line-based).
check_paths() {
	for p; do
		case $p in /*) ;; *) usage "every path must be absolute ($p is not)" ;; esac
		case $p in *"$nl"*) usage "a path holds a line feed" ;; esac
	done
}
# ls -ln fields: mode, links, uid, gid (POSIX; stat -c is not).
meta() { ls -lnd -- "$1" | awk '{ print $1, $2, $3, $4 }'; }
uid_of() { ls -lnd -- "$1" | awk '{ print $3 }'; }
# Seconds of the entry's own mtime (never a symlink's target).
mtime_of() { stat -c %Y -- "$1"; }
sync_file() { sync -- "$1" 2>/dev/null || sync; }
tmp=''
cleanup() { [ -z "$tmp" ] || rm -f -- "$tmp"; }
trap cleanup EXIT
trap 'exit 1' HUP INT TERM

lock_state() {
	manifest=$state/manifest
	mkdir -p -m 0700 "$state"
	exec 9>>"$state/lock"
	flock 9
	touch "$manifest"
}
in_manifest() { grep -Fxq -- "$1" "$manifest"; }
manifest_edit() { # add|drop PATH: rewritten atomically, before the file it names appears or after it went
	m=$(mktemp "$state/.manifest.XXXXXX")
	if [ "$1" = add ]; then { cat "$manifest" && printf '%s\n' "$2"; } | sort -u >"$m"; else grep -Fxv -- "$2" "$manifest" >"$m" || true; fi
	sync_file "$m"
	mv -fT -- "$m" "$manifest"
}

# A temp file of ours left by a killed run (this run holds the lock, so none is in use).
clean_temps() {
	for f in "$1"/.glidekey-sync.*; do
		if [ -f "$f" ]; then rm -f -- "$f"; fi
	done
}

# Copies staging file $1 (refusing what glidekey never writes) to a new temp file in directory $2,
# at most $3 bytes; sets tmp (and tmp_mtime, the staging file's full mtime, read before its bytes:
# the copy is never older than the time it claims). Returns 1 (after reporting) when refused.
take() {
	# shown/showdir: the names messages give (mirror_dir reads ./<name> inside the staging directory).
	from=$1 fromdir=${1%/*} shown=${take_shown:-$1} showdir=${take_showdir:-${1%/*}}
	if [ -L "$from" ]; then fail "refusing $shown: a symlink"; return 1; fi
	if [ ! -f "$from" ]; then fail "refusing $shown: not a regular file"; return 1; fi
	# shellcheck disable=SC2046 # the fields of one ls line
	set -- "$@" $(meta "$from")
	if [ "$5" != 1 ]; then fail "refusing $shown: it has $5 hard links (glidekey writes each file anew)"; return 1; fi
	if [ "$6" != "$(uid_of "$fromdir")" ]; then fail "refusing $shown: owned by uid $6, not by the owner of $showdir"; return 1; fi
	tmp_mtime=''
	if [ "$keep_mtime" = 1 ]; then tmp_mtime=$(stat -c %y -- "$from") || { fail "refusing $shown: cannot read its mtime"; return 1; }; fi
	tmp=$(mktemp "$2/.glidekey-sync.XXXXXX")
	# nofollow: a symlink swapped in since the test is refused; nonblock: a FIFO cannot hang the run.
	if ! dd if="$from" of="$tmp" bs=65536 count=$(($3 / 65536 + 1)) iflag=nofollow,nonblock,fullblock 2>/dev/null; then
		fail "refusing $shown: it cannot be read as a regular file"
		rm -f -- "$tmp"; tmp=''
		return 1
	fi
	size=$(($(wc -c <"$tmp")))
	if [ "$size" -gt "$3" ] || [ "$size" -eq 0 ]; then
		fail "refusing $shown: $([ "$size" -eq 0 ] && echo empty || echo "over $3 bytes")"
		rm -f -- "$tmp"; tmp=''
		return 1
	fi
}

# Puts the verified temp file at $1 (owner $2, mode $3) unless it is there already (same bytes,
# owner and mode, and with keep_mtime the same mtime, to the second); reports foreign files.
install_tmp() {
	target=$1
	if { [ -e "$target" ] || [ -L "$target" ]; } && ! in_manifest "$target"; then
		if [ -f "$target" ] && [ ! -L "$target" ] && cmp -s -- "$tmp" "$target"; then
			say "leaving $target alone: not installed by $me, though it holds the same bytes"
		else
			fail "not overwriting $target: not installed by $me (move it away to hand it over)"
		fi
		rm -f -- "$tmp"; tmp=''
		return 0
	fi
	case $3 in 0600) want=-rw------- ;; *) want=-rw-r--r-- ;; esac
	[ -z "$tmp_mtime" ] || touch -m -d "$tmp_mtime" -- "$tmp"
	# (ls may append "." or "+" to the mode for an SELinux context or an ACL)
	if [ -f "$target" ] && [ ! -L "$target" ] && cmp -s -- "$tmp" "$target" && [ "$(meta "$target" | awk '{ print substr($1, 1, 10), $3 ":" $4 }')" = "$want $2" ] &&
		{ [ -z "$tmp_mtime" ] || [ "$(mtime_of "$target")" = "$(mtime_of "$tmp")" ]; }; then
		rm -f -- "$tmp"; tmp=''
		return 0
	fi
	in_manifest "$target" || manifest_edit add "$target"
	# chmod and touch first, while root owns the temp file: root may then chown without CAP_FOWNER
	# (the units' bounding sets); a new mtime is a new file too, never a utimes on the target.
	chmod "$3" "$tmp"
	chown "$2" "$tmp"
	sync_file "$tmp"
	mv -fT -- "$tmp" "$target"
	# The rename itself is durable only once its directory is (a power loss could otherwise bring
	# back the old key after the collector was told of the new one).
	sync -- "${target%/*}" 2>/dev/null || true
	tmp=''
	changed=1
	say "installed $target"
}

# Mirrors staging directory $1 into $2: every entry whose name passes the function named $5 (given
# the name; it says why not on stdout) as a file of at most $3 bytes with owner $4 and mode 0600;
# the files it installed there that left $1 are removed. $6: what $1 is (for messages); $7: what $2
# is; $8 = guard: refuse to remove them all when $1 is empty, unless allow_remove_all=1.
mirror_dir() {
	src=${1%/} dst=${2%/} max=$3 owner=$4 namecheck=$5 src_what=$6 dst_what=$7 guard=$8
	[ -d "$src" ] || { say "the staging directory $src does not exist ($src_what); nothing changed"; exit 1; }
	[ -d "$dst" ] || { say "$dst_what $dst does not exist; nothing changed"; exit 1; }
	case $(meta "$dst/.") in d????-??-?*) ;; *) say "refusing $dst: writable by group or others"; exit 1 ;; esac
	# Root reads what glidekey's user controls: work inside the staging directory itself, entered
	# once, so a component of its path swapped for a symlink later (glidekey owns the parent) cannot
	# redirect the reads; and refuse a path that already leads through a symlink.
	case $src in /*) ;; *) say "refusing $src: not an absolute path"; exit 1 ;; esac
	if ! cd -P -- "$src" 2>/dev/null || [ "$(pwd -P)" != "$src" ]; then
		cd /
		say "refusing $src: it is reached through a symlink (give its physical path)"
		exit 1
	fi
	clean_temps "$dst"
	seen=''
	for p in ./* ./.[!.]* ./..?*; do
		{ [ -e "$p" ] || [ -L "$p" ]; } || continue
		name=${p##*/}
		case $name in *"$nl"*)
			fail "refusing a file in $src whose name holds a line feed"
			continue
			;;
		esac
		# glidekey's own atomic-write temp file (.<name>.<12 hex>.tmp): a file not yet renamed.
		printf '%s\n' "$name" | grep -Eqx '\..+\.[0-9a-f]{12}\.tmp' && continue
		seen="$seen$name$nl"
		why=$($namecheck "$name")
		if [ -n "$why" ]; then
			fail "refusing $src/$name: $why"
			continue
		fi
		take_shown=$src/$name take_showdir=$src
		take "$p" "$dst" "$max" || { take_shown='' take_showdir=''; continue; }
		take_shown='' take_showdir=''
		install_tmp "$dst/$name" "$owner" 0600
	done
	cd /
	doomed=''
	while IFS= read -r path; do
		case $path in "$dst"/*) ;; *) continue ;; esac
		name=${path#"$dst"/}
		case $name in */*) continue ;; esac
		case $nl$seen in *"$nl$name$nl"*) ;; *) doomed="$doomed$path$nl" ;; esac
	done <"$manifest"
	if [ "$guard" = guard ] && [ -n "$doomed" ] && [ -z "$seen" ] && [ "${allow_remove_all:-0}" = 0 ]; then
		fail "refusing to remove all $(printf '%s' "$doomed" | wc -l) key file(s) installed in $dst: $src is empty. If glidekey lost its database, restore it; if every site is gone on purpose, run $me --allow-remove-all"
		doomed=''
	fi
	printf '%s' "$doomed" | while IFS= read -r path; do
		[ -n "$path" ] || continue
		rm -f -- "$path"
		manifest_edit drop "$path"
		say "removed $path (no longer in $src)"
	done
	[ -z "$doomed" ] || changed=1
}
