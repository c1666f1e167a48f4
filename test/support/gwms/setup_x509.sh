#!/bin/bash
# A test stand-in for the token part of GlideinWMS's creation/web_base/setup_x509.sh, from its
# documented behaviour. It runs before every custom script. At startup it copies every *.idtoken of
# the start dir (GLIDEIN_START_DIR_ORIG) into <workspace>/cred.d/idtokens; exactly one of them must be
# credential_*.idtoken (the glidein token), which it publishes as GLIDEIN_CONDOR_TOKEN (the copy) and
# GLIDEIN_CONDOR_TOKEN_ORIG (the original); none or several is not an error here only because a
# real glidein may still have an X.509 proxy. Run periodically (GLIDEIN_PERIODIC_SCRIPT set) it copies
# every *.idtoken of GLIDEIN_CONDOR_TOKEN_ORIG's directory into GLIDEIN_CONDOR_TOKEN's, with cp.
glidein_config=$1
source "$(grep -m1 '^ADD_CONFIG_LINE_SOURCE ' "$glidein_config" | cut -d ' ' -f 2-)"
error_gen=$(gconfig_get ERROR_GEN_PATH "$glidein_config")
if [[ -n "$GLIDEIN_PERIODIC_SCRIPT" ]]; then
    from=$(gconfig_get GLIDEIN_CONDOR_TOKEN_ORIG "$glidein_config")
    to=$(gconfig_get GLIDEIN_CONDOR_TOKEN "$glidein_config")
    [[ -n "$from" && -n "$to" ]] || { "$error_gen" -error setup_x509.sh WN_Resource "nothing to refresh"; exit 1; }
    for t in "$(dirname "$from")"/*.idtoken; do [[ -e "$t" ]] && cp "$t" "$(dirname "$to")"; done
    "$error_gen" -ok setup_x509.sh idtoken "$to"
    exit 0
fi
start=$(gconfig_get GLIDEIN_START_DIR_ORIG "$glidein_config")
creds="$(gconfig_get GLIDEIN_WORKSPACE_ORIG "$glidein_config")/cred.d/idtokens"
mkdir -p "$creds"
glidein_tokens=0
for t in "$start"/*.idtoken; do
    [[ -e "$t" ]] || continue
    cp "$t" "$creds/" || continue
    if [[ "${t##*/}" == credential_*.idtoken ]]; then
        (( ++glidein_tokens ))
        token="$creds/${t##*/}" orig=$t
    fi
done
if (( glidein_tokens == 1 )); then
    gconfig_add GLIDEIN_CONDOR_TOKEN "$token"
    gconfig_add GLIDEIN_CONDOR_TOKEN_ORIG "$orig"
fi
"$error_gen" -ok setup_x509.sh idtoken "${token:-unavailable}"
