#!/usr/bin/env bash
# Makes sure what `make run` and `make test` need is on this machine:
# Go (checked, not installed) and redis-server (installed with apt-get when
# missing and we are root). Anything it cannot fix ends with one sentence
# saying what to do.
set -euo pipefail

if ! command -v go >/dev/null 2>&1; then
  echo "Go is not installed: install Go 1.26 or newer from https://go.dev/dl/ and put it on PATH." >&2
  exit 1
fi

have_redis() {
  [ -n "${BILAT_REDIS_SERVER:-}" ] && [ -x "${BILAT_REDIS_SERVER}" ] && return 0
  command -v redis-server >/dev/null 2>&1 && return 0
  [ -x /usr/bin/redis-server ] && return 0
  return 1
}

if ! have_redis; then
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    echo "redis-server is missing: installing it with apt-get..." >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null
    apt-get install -y -qq --no-install-recommends redis-server >/dev/null
    # Debian's package starts a system service on 6379; Bilat starts its
    # own servers on other ports and leaves that one alone.
  elif command -v sudo >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    echo "redis-server is missing: installing it with sudo apt-get..." >&2
    sudo DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null
    sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends redis-server >/dev/null
  else
    echo "redis-server is missing: run 'sudo apt-get install -y redis-server' (or set BILAT_REDIS_SERVER to its path), then try again." >&2
    exit 1
  fi
fi
have_redis || { echo "redis-server is still missing after installing: run 'sudo apt-get install -y redis-server'." >&2; exit 1; }
