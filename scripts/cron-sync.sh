#!/usr/bin/env bash
# cron-sync.sh: one unattended tap-jira run, for cron (README "Running on a
# schedule").
#
#   * One run at a time: a second run started while one is still going
#     (a slow sync, a 30-minute schedule) refuses to start, exit 75.
#   * The state advances only when both the tap and the target succeeded:
#     the last state line the target printed is written to a temp file in
#     the same directory and renamed over state.json (atomic: a crash leaves
#     the old or the new state, never half of one).
#
# Settings, from the environment:
#   TARGET        the target's command line, run by bash (required),
#                 e.g. "target-postgres --config /etc/tap-jira/target.json"
#   TAP_JIRA_DIR  directory of config.json, catalog.json and state.json
#                 (default: the current directory)
#   TAP           the tap's command (default: tap-jira)
#   LOCK_FILE     the lock (default: $TAP_JIRA_DIR/.cron-sync.lock)
#
# Exit codes:
#   0   success: state.json replaced (or kept, if the target printed no state)
#   10  the tap failed: state.json unchanged
#   11  the target failed: state.json unchanged
#   12  the new state could not be written: state.json unchanged
#   64  usage: TARGET unset, or config.json or catalog.json missing
#   75  another run is still going: nothing was started
set -uo pipefail

dir=${TAP_JIRA_DIR:-.}
tap=${TAP:-tap-jira}
lock=${LOCK_FILE:-$dir/.cron-sync.lock}
state=$dir/state.json
say() { printf 'cron-sync: %s\n' "$*" >&2; }

if [ -z "${TARGET:-}" ]; then
  say "TARGET is not set (the target's command line, e.g. TARGET='target-jsonl')"
  exit 64
fi
for f in config.json catalog.json; do
  if [ ! -f "$dir/$f" ]; then
    say "$dir/$f is missing"
    exit 64
  fi
done

# The lock is held by fd 9 for the life of this script and of the tap and
# target it starts (they inherit the descriptor), and released by the
# kernel when they exit, however they exit: no stale lock files.
exec 9>>"$lock" || { say "cannot open the lock file $lock"; exit 64; }
if ! flock -n 9; then
  say "another run still holds $lock; not starting a second one"
  exit 75
fi

args=(--config "$dir/config.json" --catalog "$dir/catalog.json")
if [ -s "$state" ]; then
  args+=(--state "$state")
fi

out=$(mktemp "$dir/.target-out.XXXXXX") || { say "cannot create a temp file in $dir"; exit 12; }
tmp=$(mktemp "$dir/.state.json.XXXXXX") || { rm -f "$out"; say "cannot create a temp file in $dir"; exit 12; }
trap 'rm -f "$out" "$tmp"' EXIT

# The target's stdout carries its state lines; its stderr and the tap's go
# to this script's stderr (the cron log).
"$tap" "${args[@]}" | bash -c "$TARGET" >"$out"
codes=("${PIPESTATUS[@]}")
tap_rc=${codes[0]}
target_rc=${codes[1]}

if [ "$tap_rc" -ne 0 ]; then
  say "the tap failed (exit $tap_rc); state.json unchanged, the next run resumes from it"
  exit 10
fi
if [ "$target_rc" -ne 0 ]; then
  say "the target failed (exit $target_rc); state.json unchanged, the next run resumes from it"
  exit 11
fi

last=$(grep -v '^[[:space:]]*$' "$out" | tail -n 1)
if [ -z "$last" ]; then
  say "the target printed no state; state.json unchanged"
  exit 0
fi
case $last in
  '{'*'}') ;;
  *)
    say "the target's last line is not a JSON state; state.json unchanged"
    exit 12
    ;;
esac

if ! printf '%s\n' "$last" >"$tmp"; then
  say "writing $tmp failed; state.json unchanged"
  exit 12
fi
# On disk before the rename, so a power cut cannot leave an empty state.
sync "$tmp" 2>/dev/null || true
if ! mv -f "$tmp" "$state"; then
  say "replacing $state failed; state.json unchanged"
  exit 12
fi
say "done; state.json replaced"
