#!/usr/bin/env bash
# Installs everything keyward needs on a fresh machine with Node.js 20:
# pnpm 12.4.2 (corepack cannot be used here) and the workspace's dependencies.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v pnpm >/dev/null 2>&1 || [ "$(pnpm --version)" != "12.4.2" ]; then
  echo "bootstrap: installing pnpm 12.4.2" >&2
  npm install --global pnpm@12.4.2 >&2
fi

# better-sqlite3 is a native addon. Without internet access node-gyp cannot
# download Node's headers, so point it at the ones installed with Node.
if [ -z "${npm_config_nodedir:-}" ]; then
  node_prefix=$(dirname "$(dirname "$(command -v node)")")
  if [ -f "$node_prefix/include/node/node.h" ]; then export npm_config_nodedir="$node_prefix"; fi
fi

pnpm install --frozen-lockfile >&2
