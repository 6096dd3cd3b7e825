#!/usr/bin/env bash
# Instructions per iteration of a Go benchmark, counted by valgrind: a
# measure of CPU that does not drift with the load of a shared machine, for
# comparing two builds where wall-time runs are ±10% apart. The collector is
# off (GOGC=off, GOMEMLIMIT=off) so the count is the benchmark's own work, allocation
# included, and so is asynchronous preemption, which valgrind trips on; the
# setup is taken out by counting 25 iterations and 5 and dividing the
# difference by 20.
#   scripts/instructions.sh [BENCH] [PACKAGE] [REV]
#   BENCH    benchmark regexp (default BenchmarkIssuePage)
#   PACKAGE  its package (default ./internal/tap)
#   REV      also count a git revision's build of it, side by side
set -euo pipefail
cd "$(dirname "$0")/.."
bench=${1:-BenchmarkIssuePage}
pkg=${2:-./internal/tap}
rev=${3:-}
command -v valgrind >/dev/null || { echo "needs valgrind (apt-get install valgrind)" >&2; exit 2; }
work=$(mktemp -d)
trap 'git worktree remove --force "$work/old" 2>/dev/null || true; rm -rf "$work"' EXIT

# count BIN N: valgrind's instruction total for N iterations. Valgrind
# sometimes fails to start a Go binary; a run is retried a few times.
count() {
  local n
  for _ in 1 2 3 4 5; do
    n=$(cd "$pkg" && GOGC=off GOMEMLIMIT=off GODEBUG=asyncpreemptoff=1 valgrind --tool=callgrind --callgrind-out-file=/dev/null "$1" \
      -test.run='^$' -test.bench="^($bench)\$" -test.benchtime="$2"x -test.count=1 -test.cpu=1 2>&1 |
      sed -n 's/.*Collected : //p')
    [ -n "$n" ] && { echo "$n"; return; }
  done
  echo "valgrind did not finish a run of $1" >&2
  exit 1
}

report() {
  local low high
  low=$(count "$2" 5)
  high=$(count "$2" 25)
  printf '%-12s %s %d instructions/op\n' "$1" "$bench" $(((high - low) / 20))
}

go test -c -o "$work/new.test" "$pkg"
if [ -n "$rev" ]; then
  git worktree add -q "$work/old" "$rev"
  (cd "$work/old" && go test -c -o "$work/old.test" "$pkg")
  report "$rev" "$work/old.test"
fi
report "this tree" "$work/new.test"
