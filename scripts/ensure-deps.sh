#!/bin/sh
# Installs the locked dependencies with `npm ci` when they are missing or older than
# package-lock.json, so `npm start` and `npm test` work on a fresh clone with nothing else to run
# first. The lockfile is complete (every platform's optional packages are in it), so `npm ci`
# installs exactly what it records and never rewrites it: a run leaves the tree clean.
# With --build (npm start), it also builds, but only when the build is missing or older than
# anything it is made from: a warm start does no install and no build.
set -e
cd "$(dirname "$0")/.."
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "glidekey: installing dependencies..." >&2
  npm ci --no-audit --no-fund >&2
fi
if [ "${1:-}" = --build ]; then
  # dist/.built is written last by `npm run build`: a build that failed half-way has none.
  stamp=dist/.built
  if [ ! -f "$stamp" ] || [ -n "$(find src migrations config package.json package-lock.json tsconfig.json tsconfig.build.json tsconfig.migrations.json nest-cli.json -newer "$stamp" 2>/dev/null | head -n 1)" ]; then
    echo "glidekey: building..." >&2
    npm run build >&2
  fi
fi
