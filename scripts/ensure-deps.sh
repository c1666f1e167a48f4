#!/bin/sh
# Installs the locked dependencies when they are missing or older than package-lock.json,
# so `npm start` and `npm test` work on a fresh clone with nothing else to run first.
set -e
cd "$(dirname "$0")/.."
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "glidekey: installing dependencies (npm ci)..." >&2
  npm ci --no-audit --no-fund >&2
fi
