# shellcheck shell=bash
# Shared by the S2I scripts of whiskey; sourced, never run.

# shellcheck disable=SC2034  # these are used by the scripts that source this file
APP_ROOT=${APP_ROOT:-/opt/app-root}
APP_SRC=${HOME:-$APP_ROOT/src}
WHISKEY_DIR=$APP_SRC/.whiskey
WHISKEY_WHEELHOUSE=$APP_ROOT/var/wheels

log() { printf -- '---> %s\n' "$*" >&2; }
warn() { printf 'whiskey: WARNING: %s\n' "$*" >&2; }
die() { printf 'whiskey: ERROR: %s\n' "$*" >&2; exit 1; }

# run_hook NAME [must-succeed]: run .whiskey/action_hooks/NAME if present.
# A hook that is there but not executable is named in a warning and skipped.
run_hook() {
  local hook=$WHISKEY_DIR/action_hooks/$1
  [ -e "$hook" ] || return 0
  if [ ! -x "$hook" ]; then
    warn ".whiskey/action_hooks/$1 is not executable (chmod +x it); skipped"
    return 0
  fi
  log "Running action hook $1"
  local status=0
  "$hook" || status=$?
  if [ "$status" -ne 0 ]; then
    die "action hook .whiskey/action_hooks/$1 failed with exit status $status"
  fi
}

# no_setid_files DIR...: stop the build if a setuid or setgid file is there.
# The images keep none (a group-writable /etc/passwd plus one is a way to
# root), and no build may add one.
no_setid_files() {
  local found
  # find also says which directories it may not read: not the question here.
  found=$(find "$@" -xdev -type f -perm /6000 -print 2>/dev/null | head -n 5 | tr '\n' ' ' || true)
  if [ -n "$found" ]; then
    die "setuid or setgid files after the build: ${found% } (refused: the image must hold none)"
  fi
}
