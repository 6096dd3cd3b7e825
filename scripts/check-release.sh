#!/usr/bin/env bash
# check-release.sh: what CI checks of the two ways tap-jira is installed.
#
#   1. make release: builds this machine's platform (PLATFORMS to build more;
#      all four take minutes on 2 cores) with a stamped version; the binary
#      must print it, carry CGO_ENABLED=0 and -trimpath, be statically
#      linked, and match SHA256SUMS.
#   2. go install github.com/tap-jira/tap-jira/cmd/tap-jira@VERSION: served
#      from a local file proxy holding this commit as that version (no
#      network: dependencies come from the module cache), so the module
#      path, the absence of replace directives and the version stamp from
#      the build info are what a user's go install gets.
set -euo pipefail
cd "$(dirname "$0")/.."

fail() { echo "check-release: $*" >&2; exit 1; }
goos=$(go env GOOS)
goarch=$(go env GOARCH)

# 1. make release
version=v0.0.0-release-check
make release VERSION="$version" PLATFORMS="${PLATFORMS:-$goos/$goarch}"
bin=dist/tap-jira-$goos-$goarch
got=$("$bin" --version)
[ "$got" = "tap-jira $version" ] || fail "$bin --version printed '$got', want 'tap-jira $version'"
(cd dist && sha256sum --quiet -c SHA256SUMS) || fail "SHA256SUMS does not match dist/"
for f in dist/tap-jira-*; do
  info=$(go version -m "$f")
  grep -q 'CGO_ENABLED=0' <<<"$info" || fail "$f: built with cgo"
  grep -q -- '-trimpath=true' <<<"$info" || fail "$f: not built with -trimpath"
done
if command -v file >/dev/null; then
  file "$bin" | grep -q 'statically linked' || fail "$bin is not statically linked: $(file "$bin")"
fi
echo "check-release: make release ok ($bin prints '$got')"

# 2. go install @version
module=$(go list -m)
[ "$module" = github.com/tap-jira/tap-jira ] || fail "module path is $module"
grep -q '^replace' go.mod && fail "go.mod has replace directives, which go install @version refuses"
work=$(mktemp -d)
trap 'chmod -R u+w "$work" 2>/dev/null; rm -rf "$work"' EXIT
iversion=v0.0.0-20260101000000-000000000000
proxy=$work/proxy/$module/@v
mkdir -p "$proxy"
cp go.mod "$proxy/$iversion.mod"
printf '{"Version":"%s","Time":"2026-01-01T00:00:00Z"}\n' "$iversion" >"$proxy/$iversion.info"
# The committed tree of HEAD plus the working tree's changes, as a module zip.
stash=$(git stash create 2>/dev/null || true)
git archive --format=zip --prefix="$module@$iversion/" -o "$proxy/$iversion.zip" "${stash:-HEAD}"
echo "$iversion" >"$proxy/list"
cache=$(go env GOMODCACHE)
GOMODCACHE=$work/modcache GOPROXY="file://$work/proxy,file://$cache/cache/download" \
  GOSUMDB=off GOFLAGS=-trimpath GOBIN=$work/bin CGO_ENABLED=0 \
  go install "$module/cmd/tap-jira@$iversion"
got=$("$work/bin/tap-jira" --version)
[ "$got" = "tap-jira $iversion" ] || fail "go install @$iversion gave a binary printing '$got'"
echo "check-release: go install ok ('$got')"
