#!/bin/sh
# Prints a directory holding a Node.js that can build the web UI (Vite needs 20.19+ or 22.12+),
# installing one under .tools/node when the machine has none or an older one: from the npm
# registry (the `node` package) with the machine's npm, and npm itself from Debian's packages first
# when it is missing and we are root. Progress goes to stderr; stdout is the directory only.
set -eu
cd "$(dirname "$0")/.."
TOOLS="$PWD/.tools/node"

ok() { # ok <node binary>: does it run and is it new enough?
  v=$("$1" -p 'process.versions.node' 2>/dev/null) || return 1
  major=${v%%.*}; rest=${v#*.}; minor=${rest%%.*}
  [ "$major" -ge 23 ] || { [ "$major" -eq 22 ] && [ "$minor" -ge 12 ]; } || { [ "$major" -eq 20 ] && [ "$minor" -ge 19 ]; }
}

if command -v node >/dev/null 2>&1 && ok "$(command -v node)"; then
  dirname "$(command -v node)"; exit 0
fi
if [ -x "$TOOLS/node_modules/.bin/node" ] && ok "$TOOLS/node_modules/.bin/node"; then
  echo "$TOOLS/node_modules/.bin"; exit 0
fi

have=$(node --version 2>/dev/null || echo none)
echo "Node.js 20.19+ or 22.12+ is needed to build the web UI (found: $have); installing Node.js 22 into .tools/node" >&2
if ! command -v npm >/dev/null 2>&1; then
  if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "npm is missing: apt-get install nodejs npm (Debian's, used only to fetch a newer Node.js)" >&2
    apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends nodejs npm >&2
  else
    echo "npm is missing: install Node.js 22 (https://nodejs.org) or run 'sudo apt-get install nodejs npm' and retry" >&2
    exit 1
  fi
fi
mkdir -p "$TOOLS"
npm install --prefix "$TOOLS" --no-audit --no-fund --loglevel=error node@22 >&2
if ! ok "$TOOLS/node_modules/.bin/node"; then
  echo "could not install a usable Node.js into $TOOLS" >&2
  exit 1
fi
echo "$TOOLS/node_modules/.bin"
