#!/bin/sh
# Installs the locked dependencies with `npm ci` when they are missing or older than
# package-lock.json, so `npm start` and `npm test` work on a fresh clone with nothing else to run
# first. The lockfile is complete (every platform's optional packages are in it), so `npm ci`
# installs exactly what it records and never rewrites it: a run leaves the tree clean.
set -e
cd "$(dirname "$0")/.."
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "glidekey: installing dependencies..." >&2
  npm ci --no-audit --no-fund >&2
fi
