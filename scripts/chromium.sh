#!/usr/bin/env bash
# scripts/chromium.sh [install|paths|check]
#
# Headless Chromium and its WebDriver for the browser test of the operator page (io.vmap.ui.UiPageTest):
# Debian's chromium and chromium-driver packages. Like scripts/postgres.sh: idempotent, logs to
# stderr, fails (non-zero) with a clear message on any error.
#
#   install  (the default) Installs Debian's chromium and chromium-driver if either is missing (root
#            only: apt-get update, then apt-get install -y chromium chromium-driver), checks that both
#            run (`--version`), and writes their paths to $VMAP_CHROMIUM_FILE (see below).
#   paths    Prints `chromium=PATH` and `chromedriver=PATH` lines; exit 1 if either is missing.
#   check    Like paths, but only the exit code and a line on stderr.
#
# Environment:
#   VMAP_CHROMIUM_FILE  where install writes the paths (default: none), as a Java properties file
#                       (vmap.chromium.binary=..., vmap.chromium.driver=...): the tests module's
#                       build passes it to the browser test, so the test needs no environment.
#   VMAP_CHROMIUM_BIN, VMAP_CHROMEDRIVER_BIN  use these binaries instead of looking them up.
#
# The test starts the browser itself with --headless --no-sandbox --disable-gpu --disable-quic
# --no-first-run --disable-background-networking --disable-component-update --disable-sync and a
# fresh --user-data-dir: nothing here starts a long-running process.
set -euo pipefail

log() { echo "chromium.sh: $*" >&2; }
die() {
  echo "chromium.sh: ERROR: $*" >&2
  exit 1
}

is_root() { [ "$(id -u)" = 0 ]; }

find_browser() {
  if [ -n "${VMAP_CHROMIUM_BIN:-}" ]; then
    [ -x "$VMAP_CHROMIUM_BIN" ] || die "VMAP_CHROMIUM_BIN=$VMAP_CHROMIUM_BIN is not executable"
    echo "$VMAP_CHROMIUM_BIN"
    return 0
  fi
  local c
  for c in /usr/bin/chromium chromium chromium-browser; do
    if command -v "$c" >/dev/null 2>&1; then
      command -v "$c"
      return 0
    fi
  done
  return 1
}

find_driver() {
  if [ -n "${VMAP_CHROMEDRIVER_BIN:-}" ]; then
    [ -x "$VMAP_CHROMEDRIVER_BIN" ] || die "VMAP_CHROMEDRIVER_BIN=$VMAP_CHROMEDRIVER_BIN is not executable"
    echo "$VMAP_CHROMEDRIVER_BIN"
    return 0
  fi
  local c
  for c in /usr/bin/chromedriver chromedriver; do
    if command -v "$c" >/dev/null 2>&1; then
      command -v "$c"
      return 0
    fi
  done
  return 1
}

install() {
  local browser driver
  if browser="$(find_browser)" && driver="$(find_driver)"; then
    log "already installed: $browser, $driver"
  else
    is_root || die "chromium/chromium-driver are not installed, and installing them needs root (apt-get install chromium chromium-driver)"
    command -v apt-get >/dev/null 2>&1 || die "chromium is not installed and there is no apt-get to install it"
    export DEBIAN_FRONTEND=noninteractive
    log "+ apt-get update"
    apt-get update -q >&2 || die "apt-get update failed"
    log "+ apt-get install -y --no-install-recommends chromium chromium-driver"
    apt-get install -y -q --no-install-recommends chromium chromium-driver >&2 \
      || die "apt-get install chromium chromium-driver failed"
    browser="$(find_browser)" || die "chromium installed but not found on PATH"
    driver="$(find_driver)" || die "chromium-driver installed but chromedriver not found on PATH"
  fi
  # Both must run: a half-installed package or a missing library shows here, not in the test.
  local bv dv
  bv="$("$browser" --headless --no-sandbox --disable-gpu --version 2>/dev/null)" || die "$browser --version failed"
  dv="$("$driver" --version 2>/dev/null)" || die "$driver --version failed"
  log "browser: $bv ($browser)"
  log "driver:  $dv ($driver)"
  if [ -n "${VMAP_CHROMIUM_FILE:-}" ]; then
    mkdir -p "$(dirname "$VMAP_CHROMIUM_FILE")"
    printf 'vmap.chromium.binary=%s\nvmap.chromium.driver=%s\n' "$browser" "$driver" > "$VMAP_CHROMIUM_FILE"
    log "wrote $VMAP_CHROMIUM_FILE"
  fi
}

paths() {
  local browser driver
  browser="$(find_browser)" || { echo "chromium: not installed (scripts/chromium.sh install)" >&2; return 1; }
  driver="$(find_driver)" || { echo "chromedriver: not installed (scripts/chromium.sh install)" >&2; return 1; }
  echo "chromium=$browser"
  echo "chromedriver=$driver"
}

[ $# -le 1 ] || { echo "usage: scripts/chromium.sh [install|paths|check]" >&2; exit 2; }
case "${1:-install}" in
  install) install ;;
  paths) paths ;;
  check) paths >/dev/null && log "chromium and chromedriver are installed" ;;
  *) echo "usage: scripts/chromium.sh [install|paths|check]" >&2; exit 2 ;;
esac
