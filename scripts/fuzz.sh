#!/usr/bin/env bash
# Runs each fuzz target for FUZZTIME (the first argument, 10s by default).
#
# A target that fails with nothing but Go's "context deadline exceeded",
# writing no failing input, is run once more: that is the fuzzing
# coordinator missing its own -fuzztime deadline on a busy machine
# (golang/go#51484, #75804), not a finding. A failing input, a panic or a
# second such failure fails the run. FUZZ_TARGETS ("Name ./pkg" per line)
# and GO replace the list and the go command (for the tests).
set -uo pipefail
cd "$(dirname "$0")/.."
fuzztime=${1:-10s}
go=${GO:-go}
targets=${FUZZ_TARGETS:-"FuzzLoad ./internal/config
FuzzParse ./internal/state
FuzzDecodeIDSet ./internal/state
FuzzParseCatalog ./internal/singer
FuzzAppendJSON ./internal/singer
FuzzParseTime ./internal/jira
FuzzNormalTime ./internal/jira
FuzzResponses ./internal/jira
FuzzDecodeTree ./internal/jira
FuzzCanonical ./internal/jira
FuzzChangelogWindows ./internal/jira
FuzzCompactPage ./internal/jira
FuzzTokenResponse ./internal/jira
FuzzIssueShape ./internal/streams
FuzzSeenIDs ./internal/streams
FuzzCustomFields ./internal/tap
FuzzFastWalk ./internal/schema
FuzzUTCMillis ./internal/schema
FuzzPlain ./internal/jsonscan
FuzzAppendString ./internal/jsonscan
FuzzStringMember ./internal/jsonscan
FuzzParseJQL ./internal/jirasim"}

# deadline_only says whether a failed run's log shows the coordinator's
# deadline and nothing else gone wrong.
deadline_only() {
  grep -q '^    context deadline exceeded$' "$1" &&
    ! grep -q 'Failing input written to' "$1" &&
    ! grep -q '^panic: ' "$1"
}

log=$(mktemp)
trap 'rm -f "$log"' EXIT
failed=0
while read -r name pkg; do
  [ -n "$name" ] || continue
  for try in 1 2; do
    "$go" test -run='^$' -fuzz="^${name}\$" -fuzztime="$fuzztime" "$pkg" </dev/null 2>&1 | tee "$log"
    [ "${PIPESTATUS[0]}" -eq 0 ] && break
    if [ "$try" -eq 1 ] && deadline_only "$log"; then
      echo "fuzz.sh: $name stopped on the fuzzing coordinator's own deadline, with no failing input; running it once more" >&2
      continue
    fi
    echo "fuzz.sh: $name failed" >&2
    failed=1
    break
  done
done <<<"$targets"
exit $failed
