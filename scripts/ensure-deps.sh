#!/bin/sh
# Installs the locked dependencies when they are missing or older than package-lock.json,
# so `npm start` and `npm test` work on a fresh clone with nothing else to run first.
# `npm install` rather than `npm ci`: npm 11 leaves platform-specific optional packages
# (jest's resolver bindings) out of the lockfile, which `npm ci` then refuses; `npm install`
# still installs the locked versions.
set -e
cd "$(dirname "$0")/.."
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "glidekey: installing dependencies..." >&2
  npm install --no-audit --no-fund >&2
fi
