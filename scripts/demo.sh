#!/usr/bin/env bash
# The one-command demo: start jira-sim (a simulated Jira Cloud site) on
# loopback, discover the catalog, select every stream, run tap-jira against
# it and print what was extracted next to the simulator's ground truth.
#   DEMO_ISSUES   issues to generate (default 2000)
#   DEMO_TZ       the Jira user's time zone (default America/Los_Angeles)
#   DEMO_CHECK=1  exit 1 unless every stream equals the ground truth (CI)
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${BIN:-bin}
work=$(mktemp -d)
sim_pid=
cleanup() {
  [ -n "$sim_pid" ] && kill "$sim_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

"$bin/jira-sim" --port-file "$work/port" --issues "${DEMO_ISSUES:-2000}" --tz "${DEMO_TZ:-America/Los_Angeles}" \
  --seed 42 --email demo@example.com --token demo-token 2>"$work/sim.log" &
sim_pid=$!
for _ in $(seq 1 300); do
  [ -s "$work/port" ] && break
  kill -0 "$sim_pid" 2>/dev/null || { cat "$work/sim.log" >&2; echo "jira-sim did not start" >&2; exit 1; }
  sleep 0.1
done
[ -s "$work/port" ] || { echo "jira-sim did not report its port" >&2; exit 1; }
url="http://127.0.0.1:$(cat "$work/port")"
# One year back, on the hour: the Stitch default window.
start_date=$(date -u -d '1 year ago' +%Y-%m-%dT%H:00:00Z)
cat >"$work/config.json" <<JSON
{"base_url": "$url", "username": "demo@example.com", "password": "demo-token",
 "start_date": "$start_date", "user_agent": "tap-jira demo"}
JSON
echo "jira-sim: $url ($(grep -o 'issues=[0-9]*' "$work/sim.log" | head -1), user time zone ${DEMO_TZ:-America/Los_Angeles})"
echo "+ tap-jira --config config.json --discover > catalog.json"
"$bin/tap-jira" --config "$work/config.json" --discover >"$work/catalog.json"
# Select every stream: the stream-level metadata is the one entry that says
# "selected-by-default": false.
sed 's/"selected-by-default": false/"selected": true, "selected-by-default": false/' "$work/catalog.json" >"$work/selected.json"
echo "+ tap-jira --config config.json --catalog catalog.json > out.jsonl"
if ! "$bin/tap-jira" --config "$work/config.json" --catalog "$work/selected.json" >"$work/out.jsonl" 2>"$work/tap.log"; then
  cat "$work/tap.log" >&2
  exit 1
fi
grep 'sync complete' "$work/tap.log" | sed 's/^/tap-jira: /'
echo
check=()
[ "${DEMO_CHECK:-0}" = 1 ] && check=(--check)
"$bin/jira-sim" summary --url "$url" --messages "$work/out.jsonl" --start-date "$start_date" "${check[@]}"
