#!/usr/bin/env bash
# The web's part of CI (called by .ci/run after cargo test): a browser with a CJK font, the npm packages
# of the committed lockfile, vendored files that match them, then every *.test.mjs under web/.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
[ -x /usr/bin/chromium ] || need+=(chromium)
fc-list 2>/dev/null | grep -qi 'WenQuanYi Micro Hei' || need+=(fonts-wqy-microhei)
if [ "${#need[@]}" -gt 0 ]; then
  echo "web/ci: installing ${need[*]}"
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}"
fi

# npm ci when node_modules is missing or older than the lockfile (npm writes its own copy of the lock there).
if [ ! -f node_modules/.package-lock.json ] || ! cmp -s <(node -e 'const l=require("./package-lock.json");delete l.name;delete l.version;console.log(JSON.stringify(Object.keys(l.packages).filter(k=>k).sort().map(k=>[k,l.packages[k].version])))') \
     <(node -e 'const l=require("./node_modules/.package-lock.json");console.log(JSON.stringify(Object.keys(l.packages).filter(k=>k).sort().map(k=>[k,l.packages[k].version])))'); then
  echo "web/ci: npm ci"
  npm ci --no-audit --no-fund
fi

node tools/vendor.mjs --check

# node --test finds every *.test.mjs below web/ (node_modules excluded); one file at a time so that
# each test's server and browser do not fight for the machine's two cores.
files=$(find . -path ./node_modules -prune -o -name '*.test.mjs' -print | sort)
if [ -z "$files" ]; then
  echo "web/ci: no *.test.mjs found" >&2
  exit 1
fi
# shellcheck disable=SC2086
node --test --test-concurrency=1 $files
