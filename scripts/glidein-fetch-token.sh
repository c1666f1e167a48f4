#!/bin/sh
# glidein-fetch-token.sh: a glidein's bootstrap fetch of its site's IDTOKEN from glidekey, and its
# renewals while it runs.
#
#   export GLIDEKEY_URL=https://factory.example.org:8443   # GLIDEKEY_TICKET from the job's environment
#   out=$(scripts/glidein-fetch-token.sh "$GLIDEIN_WORK_DIR/tokens.d") || exit; eval "$out"
#   out=$(scripts/glidein-fetch-token.sh --renew "$GLIDEIN_WORK_DIR/tokens.d") && eval "$out"
# (`VAR=... eval "$(script)"` would give VAR to eval, not to the script, and eval "" hides a failure.)
#
# POSIX sh and curl only (a worker node has no Node, maybe no jq). The single-use ticket is read
# from the environment, the renewal credential from <DIR>/glidekey.renewal, and either is handed to
# curl on its standard input (--config -), so it never appears in a command line that `ps` shows.
# Writes <DIR>/<site>.idtoken (mode 0600, one token and a newline), when the entry's policy
# includes it <DIR>/<site>.scitoken, and <DIR>/glidekey.renewal (0600, the next renewal credential);
# then prints
#   export GLIDEIN_CONDOR_TOKEN=<path>          (and export BEARER_TOKEN_FILE=<path>)
#   export GLIDEKEY_TOKEN_EXPIRES_AT=<ISO time> GLIDEKEY_RENEW_IN=<seconds>
#   export GLIDEKEY_RENEWAL_EXPIRES_AT=<ISO time: the end of the pilot's life, no renewal after it>
# for the caller to eval. Never prints a token or a credential. Files appear whole or not at all
# (a temporary file in DIR, renamed into place); the renewal file is replaced before the tokens.
#
# Renewing (--renew DIR): spends <DIR>/glidekey.renewal for the entry's current credentials and the
# next renewal credential. Run it again GLIDEKEY_RENEW_IN seconds after the last run (two thirds of
# the way to the soonest expiry it handed out), e.g. in the glidein's startup:
#
#   out=$(glidein-fetch-token.sh "$DIR") || exit; eval "$out"   # (eval "$(...)" would hide a failure)
#   ( while sleep "$GLIDEKEY_RENEW_IN"; do
#       out=$(glidein-fetch-token.sh --renew "$DIR"); rc=$?
#       case $rc in 0) eval "$out" ;; 3 | 9 | 10) exit "$rc" ;; *) GLIDEKEY_RENEW_IN=60 ;; esac
#     done ) &
#
# or from the glidein's condor_startd (STARTD_CRON_<NAME>_EXECUTABLE this script, _ARGS --renew DIR,
# _PERIOD under two thirds of the token lifetime, _ENV GLIDEKEY_URL=...; stdout is not a ClassAd,
# so wrap it with >/dev/null). A renewal that could not be written (exit 8) or whose answer was
# lost may be retried with the same file within tickets.renewalGraceSeconds (60 s).
#
# As a GlideinWMS custom script (a frontend.xml or glideinWMS.xml <file executable="True"
# period="..."/>), GlideinWMS runs it as `glidein-fetch-token.sh glidein_config <id>`: it reads
# GLIDEKEY_URL, GLIDEKEY_CA_BUNDLE, GLIDEKEY_ALLOW_HTTP (and GLIDEKEY_RETRIES, GLIDEKEY_MAX_WAIT) from
# glidein_config with GlideinWMS's gconfig_get (no GLIDEKEY_URL there: glidekey is off for this
# glidein, nothing is changed), the ticket from GLIDEKEY_TICKET in the environment or else in
# glidein_config (with neither, and no renewal credential yet, it bootstraps with the factory-shipped
# credential_*.idtoken and GLIDEIN_Entry_Name instead: glidekey takes that only for an entry whose
# factory admin set glideinBootstrap "token"), keeps its renewal credential in <workspace>/glidekey/, writes the token as
# credential_glidekey_<site>.idtoken (0600) into the start dir and the credentials dir where
# setup_x509.sh keeps the glidein token (removing any other credential_*.idtoken there, so there is
# exactly one), publishes GLIDEIN_CONDOR_TOKEN, GLIDEIN_CONDOR_TOKEN_ORIG, GLIDEKEY_TOKEN_EXPIRES_AT,
# GLIDEKEY_RENEW_AT (Unix time) and GLIDEKEY_RENEWAL_EXPIRES_AT with gconfig_add, reports with
# error_gen -ok, or -error and a non-zero exit, and prints nothing on stdout. Periodic runs
# (GLIDEIN_PERIODIC_SCRIPT set) renew once GLIDEKEY_RENEW_AT has passed and only then.
#
# Environment:
#   GLIDEKEY_URL         the service's base URL (https://host:port); required
#   GLIDEKEY_TICKET      the ticket (gkt_...); required for the bootstrap, unused by --renew
#   GLIDEKEY_CA_BUNDLE   CA certificates (PEM) to verify the service with (curl --cacert)
#   GLIDEKEY_RETRIES     retries after connection errors and 5xx answers (default 6)
#   GLIDEKEY_MAX_WAIT    longest wait between attempts, seconds (default 60); waits double from 2
#   GLIDEKEY_ALLOW_HTTP  1 to allow a plain http:// URL (tests only: the ticket would travel in clear)
#
# Exit status: 0 done; 2 usage; 3 ticket or renewal credential refused (unknown, used, replaced,
#              revoked); 4 rate-limited; 5 service kept failing; 6 cannot connect or TLS verification
#              failed; 7 bad answer; 8 cannot write DIR; 9 the pilot's life is over (no more
#              renewals); 10 the entry's credential was withdrawn at the factory.
# After 3, 9 and 10 a renewal loop should stop: the tokens in DIR stay until they expire.

set -u
umask 077

me=glidekey
say() { printf '%s: %s\n' "$me" "$*" >&2; }
die() {
	code=$1
	shift
	say "$*"
	[ -n "$gwms" ] && gwms_error "$code" "$*"
	exit "$code"
}

body='' headers='' errors='' tmp_id='' tmp_sci='' tmp_ren='' tmp_gw=''
gwms='' gwms_error_gen='' gwms_reported='' gwms_category='' gwms_periodic='' factory_token='' gwms_entry=''
cleanup() {
	for f in "$body" "$headers" "$errors" "$tmp_id" "$tmp_sci" "$tmp_ren" "$tmp_gw"; do
		[ -n "$f" ] && rm -f "$f"
	done
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

# ---- GlideinWMS custom script mode (`script glidein_config [ID]`) ----------------------------------
# GlideinWMS's glidein_config helpers (add_config_line.source: gconfig_get, gconfig_add) are bash
# functions, so each one runs in a bash child. Their arguments are only names, paths and times
# (a ticket kept in glidein_config comes back on gconfig_get's stdout, never on a command line).
# error_gen writes its report in the current directory, so this script never changes directory.
gwms_helper() { # function, args...
	glidein_config=$gwms_config bash -c '. "$1" >/dev/null 2>&1 || exit 97; shift; "$@"' glidekey "$gwms_helpers" "$@"
}
gwms_get() { gwms_helper gconfig_get "$1" "$gwms_config"; }
gwms_add_quiet() { # name value; periodic scripts can overlap: the locking variant where GlideinWMS has one
	fn=gconfig_add
	[ -n "$gwms_periodic" ] && fn=gconfig_add_safe
	glidein_config=$gwms_config bash -c '. "$1" >/dev/null 2>&1 || exit 97; f=$2; declare -F "$f" >/dev/null || f=gconfig_add; shift 2; "$f" "$@"' \
		glidekey "$gwms_helpers" "$fn" "$@" >&2
}
gwms_add() { gwms_add_quiet "$@" || die 8 "cannot add $1 to $gwms_config"; }

gwms_error() { # exit code, message: error_gen -error with the category GlideinWMS reports it under
	[ -z "$gwms_reported" ] || return 0
	gwms_reported=1
	case $1 in
	2) category=${gwms_category:-VO_Config} ;;
	3 | 9 | 10) category=VO_Proxy ;;
	4 | 5 | 6 | 7) category=Network ;;
	*) category=WN_Resource ;;
	esac
	# Renewals that ended stay ended: later periodic runs say so without asking the service again.
	case $1 in 3 | 9 | 10) [ -n "$gwms_periodic" ] && gwms_add_quiet GLIDEKEY_RENEWALS_ENDED "$1" ;; esac
	[ -z "$gwms_error_gen" ] || "$gwms_error_gen" -error "$gwms_name" "$category" "glidekey: $2" glidekey_exit "$1" >&2
}

gwms_setup() { # glidein_config path: sets url, ticket, dir, mode and the GlideinWMS paths, or exits
	gwms_periodic=${GLIDEIN_PERIODIC_SCRIPT:-}
	gwms_name=$(basename "$0")
	gwms_config=$(cd "$(dirname "$1")" && pwd -P) || die 2 "cannot enter the directory of $1"
	gwms_config=$gwms_config/$(basename "$1")
	gwms_helpers=$(sed -n 's/^ADD_CONFIG_LINE_SOURCE //p' "$gwms_config" | head -n 1)
	[ -n "$gwms_helpers" ] && [ -r "$gwms_helpers" ] || die 2 "$gwms_config names no readable ADD_CONFIG_LINE_SOURCE"
	command -v bash >/dev/null 2>&1 || die 2 "bash is not installed (GlideinWMS's glidein_config helpers need it)"
	gwms_helper true || die 2 "cannot load $gwms_helpers"
	gwms_error_gen=$(gwms_get ERROR_GEN_PATH)
	[ -n "$gwms_error_gen" ] && [ -x "$gwms_error_gen" ] || {
		gwms_error_gen=''
		die 2 "$gwms_config names no executable ERROR_GEN_PATH"
	}
	command -v curl >/dev/null 2>&1 || {
		gwms_category=WN_Resource
		die 2 "curl is not installed"
	}
	url=$(gwms_get GLIDEKEY_URL)
	if [ -z "$url" ]; then
		say "GLIDEKEY_URL is not in $gwms_config: glidekey is off for this glidein, nothing changed"
		"$gwms_error_gen" -ok "$gwms_name" glidekey off >&2
		exit 0
	fi
	GLIDEKEY_CA_BUNDLE=$(gwms_get GLIDEKEY_CA_BUNDLE)
	GLIDEKEY_ALLOW_HTTP=$(gwms_get GLIDEKEY_ALLOW_HTTP)
	[ -n "$ticket" ] || ticket=$(gwms_get GLIDEKEY_TICKET)
	[ -n "$retries" ] || retries=$(gwms_get GLIDEKEY_RETRIES)
	[ -n "${GLIDEKEY_MAX_WAIT:-}" ] || max_wait=$(gwms_get GLIDEKEY_MAX_WAIT)
	[ -n "$max_wait" ] || max_wait=60
	# startd_cron kills a periodic run still going at the next period, and a renewal whose answer is
	# lost is taken again only within 60 s: a periodic run tries briefly, the next period retries.
	[ -n "$retries" ] || [ -z "$gwms_periodic" ] || retries=2
	gwms_start=$(gwms_get GLIDEIN_START_DIR_ORIG)
	[ -n "$gwms_start" ] && [ -d "$gwms_start" ] || die 2 "GLIDEIN_START_DIR_ORIG in $gwms_config is not a directory"
	workspace=$(gwms_get GLIDEIN_WORKSPACE_ORIG)
	[ -n "$workspace" ] || workspace=$(dirname "$gwms_config")
	# setup_x509.sh keeps the glidein's token in <workspace>/cred.d/idtokens (HTCondor's
	# SEC_TOKEN_DIRECTORY there) and names it in GLIDEIN_CONDOR_TOKEN.
	gwms_token=$(gwms_get GLIDEIN_CONDOR_TOKEN)
	if [ -n "$gwms_token" ]; then gwms_creds=$(dirname "$gwms_token"); else gwms_creds=$workspace/cred.d/idtokens; fi
	dir=$workspace/glidekey
	if [ -n "$gwms_periodic" ]; then
		ended=$(gwms_get GLIDEKEY_RENEWALS_ENDED)
		case $ended in
		'') ;;
		3 | 9 | 10) die "$ended" "renewals ended in an earlier run (exit $ended); the token stays until it expires" ;;
		*) die 2 "GLIDEKEY_RENEWALS_ENDED in $gwms_config is not an exit status" ;;
		esac
		[ -f "$dir/glidekey.renewal" ] || die 2 "no renewal credential in $dir: the glidein's first run fetched no token"
		due=$(gwms_get GLIDEKEY_RENEW_AT)
		case $due in '' | *[!0-9]*) due=0 ;; esac
		if [ "$(date +%s)" -lt "$due" ]; then
			"$gwms_error_gen" -ok "$gwms_name" glidekey_renew_at "$due" >&2
			exit 0
		fi
		mode=renew
	elif [ -z "$ticket" ] && [ -f "$dir/glidekey.renewal" ]; then
		mode=renew
	fi
	[ "$mode" = renew ] || [ -n "$ticket" ] || gwms_factory_token
}

# No ticket and no renewal credential yet: the IDTOKEN the factory shipped (an unpatched factory
# gives all glideins of an entry one environment, so none has a ticket of its own). glidekey takes
# it as the bootstrap bearer only for an entry whose factory admin set glideinBootstrap "token".
# It is where setup_x509.sh put it: GLIDEIN_CONDOR_TOKEN, else the one credential_*.idtoken of the
# start dir. Read with builtins only, sent like a ticket (curl's stdin), removed only once
# glidekey's token is in place (gwms_install).
gwms_factory_token() {
	nothing="no ticket: GLIDEKEY_TICKET is neither in the glidein's environment nor in $gwms_config, and the factory shipped no credential_*.idtoken"
	file=$(gwms_get GLIDEIN_CONDOR_TOKEN)
	case ${file##*/} in credential_glidekey_*) file='' ;; credential_*.idtoken) ;; *) file='' ;; esac
	if [ -z "$file" ] || [ ! -f "$file" ]; then
		file=''
		for f in "$gwms_start"/credential_*.idtoken; do
			[ -f "$f" ] || continue
			case ${f##*/} in credential_glidekey_*) continue ;; esac
			[ -z "$file" ] || die 2 "$nothing (several in $gwms_start)"
			file=$f
		done
	fi
	[ -n "$file" ] || die 2 "$nothing"
	[ -r "$file" ] || die 2 "$file is not readable"
	cr=$(printf '\r')
	factory_token=''
	while IFS=' 	' read -r line || [ -n "$line" ]; do
		line=${line%"$cr"}
		case $line in '' | '#'*) line='' ;; *) factory_token=$line && break ;; esac
	done <"$file"
	line=''
	[ -n "$factory_token" ] || die 2 "$file holds no token"
	gwms_entry=$(gwms_get GLIDEIN_Entry_Name)
	case $gwms_entry in '' | [!A-Za-z0-9]* | *[!A-Za-z0-9_.-]*) die 2 "GLIDEIN_Entry_Name in $gwms_config is not an entry name" ;; esac
	say "no ticket: bootstrapping with the factory-shipped ${file##*/} for entry $gwms_entry"
}

gwms_install() { # after the core wrote DIR: the token where setup_x509.sh takes it, published
	name=credential_glidekey_$site.idtoken
	[ -d "$gwms_creds" ] || mkdir -p "$gwms_creds" 2>/dev/null || die 8 "cannot create $gwms_creds"
	# The start dir copy is the one setup_x509.sh's periodic run copies into the credentials dir
	# (GLIDEIN_CONDOR_TOKEN_ORIG); the credentials dir copy is the one HTCondor reads. Each is
	# replaced by a rename in its own directory, so neither is ever read half-written.
	for d in "$gwms_start" "$gwms_creds"; do
		tmp_gw=$(mktemp "$d/.glidekey-token.XXXXXX") || die 8 "cannot create a temporary file in $d"
		{ cp "$dir/$site.idtoken" "$tmp_gw" && chmod 600 "$tmp_gw" && mv -f "$tmp_gw" "$d/$name"; } || die 8 "cannot write $d/$name"
		tmp_gw=''
	done
	rm -f "$dir/$site.idtoken"
	# Exactly one glidein token: setup_x509.sh wants one credential_*.idtoken and copies every
	# *.idtoken of the start dir again each minute, so a factory-shipped one goes from both places
	# (only after glidekey's is in place). CE collector tokens (ce_*.idtoken) are left alone.
	replaced=''
	for f in "$gwms_start"/credential_*.idtoken "$gwms_creds"/credential_*.idtoken; do
		[ -e "$f" ] && [ "${f##*/}" != "$name" ] || continue
		rm -f "$f" || die 8 "cannot remove $f"
		case ",$replaced," in *",${f##*/},"*) ;; *) replaced=$replaced${replaced:+,}${f##*/} ;; esac
	done
	renew_at=$(($(date +%s) + renew_in))
	gwms_add GLIDEIN_CONDOR_TOKEN "$gwms_creds/$name"
	gwms_add GLIDEIN_CONDOR_TOKEN_ORIG "$gwms_start/$name"
	gwms_add GLIDEKEY_TOKEN_EXPIRES_AT "$expires_at"
	gwms_add GLIDEKEY_RENEW_AT "$renew_at"
	gwms_add GLIDEKEY_RENEWAL_EXPIRES_AT "$renewal_expires_at"
	[ ! -f "$dir/$site.scitoken" ] || gwms_add GLIDEKEY_SCITOKEN_FILE "$dir/$site.scitoken"
	say "GLIDEIN_CONDOR_TOKEN=$gwms_creds/$name (site $site, expires $expires_at, next renewal at $renew_at)"
	set -- glidekey_site "$site" idtoken "$gwms_creds/$name" glidekey_expires_at "$expires_at" glidekey_renew_at "$renew_at"
	[ -z "$replaced" ] || set -- "$@" glidekey_replaced "$replaced"
	"$gwms_error_gen" -ok "$gwms_name" "$@" >&2
}

usage="usage: GLIDEKEY_URL=https://... GLIDEKEY_TICKET=... $0 DIR, or GLIDEKEY_URL=https://... $0 --renew DIR, or $0 glidein_config [ID]"
mode=bootstrap
# GlideinWMS runs a custom script as `script glidein_config <file id>` (a periodic run: with the
# absolute path, GLIDEIN_PERIODIC_SCRIPT set); a DIR is never an existing regular file.
gwms=''
if { [ $# -eq 1 ] || [ $# -eq 2 ]; } && [ -f "$1" ]; then
	case $1 in
	glidein_config | */glidein_config) gwms=1 ;;
	*) grep -q '^ADD_CONFIG_LINE_SOURCE ' "$1" 2>/dev/null && gwms=1 ;;
	esac
fi
if [ -z "$gwms" ]; then
	if [ $# -eq 2 ] && [ "$1" = --renew ]; then
		mode=renew
		shift
	fi
	[ $# -eq 1 ] || die 2 "$usage"
	case $1 in -*) die 2 "$usage" ;; esac
fi
dir=$1
url=${GLIDEKEY_URL:-}
ticket=${GLIDEKEY_TICKET:-}
# curl and every other child must not inherit the ticket.
unset GLIDEKEY_TICKET
retries=${GLIDEKEY_RETRIES:-}
max_wait=${GLIDEKEY_MAX_WAIT:-60}
[ -n "$gwms" ] && gwms_setup "$1"
[ -n "$retries" ] || retries=6

command -v curl >/dev/null 2>&1 || die 2 "curl is not installed"
[ -n "$url" ] || die 2 "GLIDEKEY_URL is not set"
case $retries in '' | *[!0-9]*) die 2 "GLIDEKEY_RETRIES must be a whole number" ;; esac
case $max_wait in '' | *[!0-9]*) die 2 "GLIDEKEY_MAX_WAIT must be a whole number of seconds" ;; esac

# A ticket (gkt_) or renewal credential (gkr_) goes into curl's config text: only its own alphabet
# may pass (shell builtins only, so it never reaches another program's arguments).
check_secret() { # value, prefix, what, exit code
	case $1 in
	"$2"_*) ;;
	*) die "$4" "$3 is not a glidekey $5 ($2_...)" ;;
	esac
	case $1 in *[!A-Za-z0-9_-]*) die "$4" "$3 holds characters a $5 never has" ;; esac
	[ ${#1} -eq 64 ] || die "$4" "$3 has the wrong length for a $5"
}
# A compact JWT: three non-empty base64url segments.
is_jwt() {
	case $1 in '' | *[!A-Za-z0-9_.-]* | .* | *. | *..*) return 1 ;; esac
	rest=${1#*.}
	[ "$rest" != "$1" ] || return 1
	last=${rest#*.}
	[ "$last" != "$rest" ] || return 1
	case $last in *.*) return 1 ;; esac
	return 0
}
renewal_file=''
data='{}'
if [ "$mode" = bootstrap ] && [ -n "$factory_token" ]; then
	# Its own alphabet only (it goes into curl's config text), and no longer than glidekey reads.
	is_jwt "$factory_token" && [ ${#factory_token} -le 16384 ] || die 3 "the factory-shipped token is not a compact JWT"
	secret=$factory_token
	data="{\"entry\":\"$gwms_entry\"}"
elif [ "$mode" = bootstrap ]; then
	[ -n "$ticket" ] || die 2 "GLIDEKEY_TICKET is not set"
	check_secret "$ticket" gkt GLIDEKEY_TICKET 3 ticket
	secret=$ticket
else
	renewal_file=$dir/glidekey.renewal
	[ -f "$renewal_file" ] || die 2 "$renewal_file does not exist: bootstrap first (without --renew)"
	[ -r "$renewal_file" ] || die 2 "$renewal_file is not readable"
	secret=''
	IFS= read -r secret <"$renewal_file" || [ -n "$secret" ] || die 2 "$renewal_file is empty"
	check_secret "$secret" gkr "$renewal_file" 2 "renewal credential"
fi
ticket='' factory_token=''

case $url in
https://*) proto='=https' ;;
http://*)
	[ "${GLIDEKEY_ALLOW_HTTP:-0}" = 1 ] || die 2 "GLIDEKEY_URL is plain http: the ticket and token would cross the network in clear (set GLIDEKEY_ALLOW_HTTP=1 only for tests)"
	proto='=http'
	;;
*) die 2 "GLIDEKEY_URL must start with https://" ;;
esac
case $url in *[[:space:]\"\'\\]*) die 2 "GLIDEKEY_URL is not a URL" ;; esac

set --
if [ -n "${GLIDEKEY_CA_BUNDLE:-}" ]; then
	[ -r "$GLIDEKEY_CA_BUNDLE" ] || die 2 "GLIDEKEY_CA_BUNDLE ($GLIDEKEY_CA_BUNDLE) is not readable"
	set -- --cacert "$GLIDEKEY_CA_BUNDLE"
fi

[ -d "$dir" ] || mkdir -p "$dir" 2>/dev/null || die 8 "cannot create $dir"
dir=$(cd "$dir" && pwd -P) || die 8 "cannot enter the directory"
[ -w "$dir" ] || die 8 "$dir is not writable"
body=$(mktemp "$dir/.glidekey-body.XXXXXX") || die 8 "cannot create a temporary file in $dir"
headers=$(mktemp "$dir/.glidekey-headers.XXXXXX") || die 8 "cannot create a temporary file in $dir"
errors=$(mktemp "$dir/.glidekey-errors.XXXXXX") || die 8 "cannot create a temporary file in $dir"

endpoint="${url%/}/api/v1/glidein/credentials"
[ "$mode" = renew ] && endpoint="$endpoint/renew"

# One attempt: sets $status (HTTP status, 000 when there was no answer) and $curl_rc.
attempt() {
	: >"$body"
	: >"$headers"
	status=$(printf 'header = "Authorization: Bearer %s"\n' "$secret" |
		curl --config - --silent --show-error --proto "$proto" --max-redirs 0 \
			--connect-timeout 15 --max-time 60 \
			--request POST --header 'Content-Type: application/json' --data "$data" \
			--output "$body" --dump-header "$headers" --write-out '%{http_code}' \
			"$@" "$endpoint" 2>"$errors")
	curl_rc=$?
	curl_err=$(sed -n '1p' "$errors")
	[ -n "$status" ] || status=000
}

# The error code of a glidekey error body ({"error":{"code":"..."}}), or nothing.
error_code() { sed -n 's/.*"code":"\([A-Z_]*\)".*/\1/p' "$body" | head -n 1; }

tries=0
wait=2
while :; do
	attempt "$@"
	retry=0
	case $curl_rc in
	0) ;;
	# could not resolve, connect, send or receive; timed out; empty reply; handshake failed
	6 | 7 | 28 | 35 | 52 | 55 | 56) retry=1 ;;
	# the certificate did not verify: retrying will not help
	51 | 58 | 60 | 77 | 83 | 90 | 91) die 6 "the TLS certificate of $url did not verify against ${GLIDEKEY_CA_BUNDLE:-the system CAs} (curl: $curl_err)" ;;
	*) die 6 "cannot reach $url (curl exit $curl_rc: $curl_err)" ;;
	esac
	if [ "$retry" = 0 ]; then
		case $status in
		200) break ;;
		401)
			[ "$data" != '{}' ] && die 3 "the factory-shipped token was refused (not one the factory holds for this entry, or it expired)"
			[ "$mode" = bootstrap ] && die 3 "the ticket was refused (unknown, already used, or expired)"
			[ "$(error_code)" = RENEWAL_REVOKED ] && die 3 "the renewal credential was revoked by the factory admin; no more renewals"
			die 3 "the renewal credential was refused (unknown, already used, or replaced)"
			;;
		403)
			[ "$(error_code)" = PILOT_LIFE_OVER ] && die 9 "the pilot's life is over: no more renewals (HTTP 403 PILOT_LIFE_OVER)"
			[ "$(error_code)" = TOKEN_BOOTSTRAPS_EXHAUSTED ] && die 3 "the factory-shipped token has started as many glideins as glidekey allows (HTTP 403 TOKEN_BOOTSTRAPS_EXHAUSTED)"
			[ "$(error_code)" = TOKEN_BOOTSTRAP_OFF ] && die 3 "the entry takes no token bootstrap, or the factory-shipped token also serves an entry that takes tickets only (HTTP 403 TOKEN_BOOTSTRAP_OFF): give the glidein a ticket"
			;;
		410) [ "$(error_code)" = CREDENTIAL_WITHDRAWN ] && die 10 "the factory no longer holds this entry's credential (HTTP 410 CREDENTIAL_WITHDRAWN); no more renewals" ;;
		429) die 4 "too many failed attempts from this address; the service asks to wait before trying again" ;;
		5??) retry=1 ;;
		esac
		[ "$retry" = 1 ] || die 7 "the service refused the request (HTTP $status $(error_code))"
	fi
	if [ "$tries" -ge "$retries" ]; then
		if [ "$curl_rc" != 0 ]; then die 6 "cannot reach $url after $((tries + 1)) attempts (curl exit $curl_rc: $curl_err)"; fi
		case $(error_code) in
		CREDENTIAL_STALE) die 5 "the factory has no fresh token for this entry yet (HTTP 503 CREDENTIAL_STALE) after $((tries + 1)) attempts; the $([ "$mode" = renew ] && echo 'renewal credential' || echo ticket) is still valid" ;;
		*) die 5 "the service kept failing (HTTP $status $(error_code)) after $((tries + 1)) attempts" ;;
		esac
	fi
	tries=$((tries + 1))
	pause=$wait
	# Retry-After (seconds) from a 503 or 429, when the service gives one.
	after=$(sed -n 's/^[Rr]etry-[Aa]fter: *\([0-9][0-9]*\).*/\1/p' "$headers" | head -n 1)
	[ -n "$after" ] && pause=$after
	[ "$pause" -gt "$max_wait" ] && pause=$max_wait
	if [ "$curl_rc" != 0 ]; then say "cannot reach $url (curl exit $curl_rc); retry $tries of $retries in ${pause}s"; else say "HTTP $status $(error_code); retry $tries of $retries in ${pause}s"; fi
	sleep "$pause"
	wait=$((wait * 2))
	[ "$wait" -gt "$max_wait" ] && wait=$max_wait
done

# {"site":"...","entry":"...","idtoken":"...","expiresAt":"...",...}: flat, and every value we
# take is a plain name or base64url, so sed is enough; each is checked before it is used.
field() { sed -n "s/.*\"$1\":\"\\([^\"]*\\)\".*/\\1/p" "$body" | head -n 1; }
site=$(field site)
case $site in
'' | [!A-Za-z0-9]* | *[!A-Za-z0-9_.-]*) die 7 "the answer holds no valid site name" ;;
esac
[ ${#site} -le 128 ] || die 7 "the answer holds no valid site name"

write_token() { # value, target: a temporary file in DIR under umask 077, renamed later
	tmp=$(mktemp "$dir/.glidekey-token.XXXXXX") || die 8 "cannot create a temporary file in $dir"
	printf '%s\n' "$1" >"$tmp" || {
		rm -f "$tmp"
		die 8 "cannot write to $dir"
	}
	chmod 600 "$tmp"
	printf '%s' "$tmp"
}

idtoken=$(field idtoken)
is_jwt "$idtoken" || die 7 "the answer holds no valid IDTOKEN"
tmp_id=$(write_token "$idtoken") || exit 8
scitoken=$(field scitoken)
if [ -n "$scitoken" ]; then
	is_jwt "$scitoken" || die 7 "the answer holds no valid SciToken"
	tmp_sci=$(write_token "$scitoken") || exit 8
fi
idtoken='' scitoken=''
# The next renewal credential: every answer carries one (the one presented, if any, is spent).
renewal=$(field renewal)
case $renewal in
gkr_*) ;;
*) die 7 "the answer holds no valid renewal credential" ;;
esac
case $renewal in *[!A-Za-z0-9_-]*) die 7 "the answer holds no valid renewal credential" ;; esac
[ ${#renewal} -eq 64 ] || die 7 "the answer holds no valid renewal credential"
tmp_ren=$(write_token "$renewal") || exit 8
renewal='' secret=''
# Times and a count, printed for the caller: checked to be what they claim.
is_time() { case $1 in '' | *[!0-9TZ:.-]*) return 1 ;; esac; }
expires_at=$(field expiresAt)
is_time "$expires_at" || die 7 "the answer holds no valid expiry"
renewal_expires_at=$(field renewalExpiresAt)
is_time "$renewal_expires_at" || die 7 "the answer holds no valid renewal expiry"
renew_in=$(sed -n 's/.*"renewInSeconds":\([0-9][0-9]*\).*/\1/p' "$body" | head -n 1)
[ -n "$renew_in" ] || die 7 "the answer says not when to renew"

quote() { # for eval: bare when plain, else single-quoted
	case $1 in *[!A-Za-z0-9_./-]*) printf "'%s'" "$(printf '%s' "$1" | sed "s/'/'\\\\''/g")" ;; *) printf '%s' "$1" ;; esac
}

# The renewal credential first: the one presented is spent, and without the new one the glidein
# could never renew again (a failure here leaves the old file for a retry within the grace).
mv -f "$tmp_ren" "$dir/glidekey.renewal" || die 8 "cannot write $dir/glidekey.renewal"
tmp_ren=''
mv -f "$tmp_id" "$dir/$site.idtoken" || die 8 "cannot write $dir/$site.idtoken"
tmp_id=''
if [ -n "$tmp_sci" ]; then
	mv -f "$tmp_sci" "$dir/$site.scitoken" || die 8 "cannot write $dir/$site.scitoken"
	tmp_sci=''
	[ -n "$gwms" ] || printf 'export BEARER_TOKEN_FILE=%s\n' "$(quote "$dir/$site.scitoken")"
fi
if [ -n "$gwms" ]; then
	gwms_install
	exit 0
fi
printf 'export GLIDEIN_CONDOR_TOKEN=%s\n' "$(quote "$dir/$site.idtoken")"
printf 'export GLIDEKEY_TOKEN_EXPIRES_AT=%s GLIDEKEY_RENEW_IN=%s\n' "$expires_at" "$renew_in"
printf 'export GLIDEKEY_RENEWAL_EXPIRES_AT=%s\n' "$renewal_expires_at"
