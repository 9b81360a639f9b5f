#!/usr/bin/env bash
# Instructions the mock server runs per call lifecycle, counted by valgrind's callgrind.
#
# On a shared machine a run's times move by a third from one minute to the next; the count of
# instructions does not, so it shows what a change to the server's request path did. Two
# paced runs of one caller/receiver pair (10 lifecycles a second, 4 s and 12 s) are counted
# whole, and their difference is divided by the difference in lifecycles, so start-up and
# shut-down drop out. Only the server's user-space instructions are counted (not the kernel's).
#
# Without bench flags it counts the design dialect's lifecycle and then the 1.1 dialect's, and
# reports both; with flags (`--calls-api 1.1`), the lifecycle they describe only.
#
#   cargo build --release -p zulip-calls-mock -p zulip-calls-e2e
#   tests/scripts/instructions-per-lifecycle.sh [path/to/zulip-calls-mock [bench flags...]]
#   tests/scripts/instructions-per-lifecycle.sh target/release/zulip-calls-mock --calls-api 1.1
#
# Needs valgrind (Debian: apt-get install valgrind). Takes about a minute per lifecycle. With
# KEEP_PROFILES=dir the last counted lifecycle's two callgrind files are kept there
# (callgrind.4, callgrind.12) for callgrind_annotate.
set -euo pipefail
cd "$(dirname "$0")/../.."

mock=$(realpath "${1:-target/release/zulip-calls-mock}")
shift || true
# Further arguments go to the bench (`--calls-api 1.1`: the 1.1 dialect's lifecycle).
extra=("$@")
bench=target/release/zulip-calls-bench
for tool in valgrind callgrind_annotate; do
    command -v "$tool" >/dev/null || { echo "error: $tool is not installed" >&2; exit 1; }
done
[ -x "$mock" ] && [ -x "$bench" ] || {
    echo "error: build first: cargo build --release -p zulip-calls-mock -p zulip-calls-e2e" >&2
    exit 1
}

work=$(mktemp -d)
keep=${KEEP_PROFILES:-}
trap '[ -n "$keep" ] && mkdir -p "$keep" && cp "$work"/callgrind.* "$keep"/; rm -rf "$work"' EXIT
# The bench ends its server with SIGKILL, which callgrind cannot survive to write its counts:
# the wrapper runs the server in the background, so the bench kills only the wrapper, and the
# server is then stopped here with SIGTERM (it shuts down cleanly and callgrind writes out).
cat >"$work/server" <<WRAP
#!/bin/sh
valgrind -q --tool=callgrind --callgrind-out-file="$work/callgrind.\$RUN" "$mock" "\$@" &
echo \$! >"$work/pid.\$RUN"
wait
WRAP
chmod +x "$work/server"

# Prints "<lifecycles> <instructions>" for a paced run of $1 seconds.
count() {
    RUN=$1 "$bench" --clients 2 --rate 10 --duration "$1" --floor-samples 100 \
        --server-bin "$work/server" --json ${extra[@]+"${extra[@]}"} >"$work/report.$1"
    local pid
    pid=$(cat "$work/pid.$1")
    kill -TERM "$pid"
    tail --pid="$pid" -f /dev/null
    local lifecycles instructions
    lifecycles=$(grep -o '"lifecycles": *[0-9]*' "$work/report.$1" | grep -o '[0-9]*$')
    instructions=$(callgrind_annotate "$work/callgrind.$1" 2>/dev/null |
        awk '/PROGRAM TOTALS/ && !done { gsub(",", "", $1); print $1; done = 1 }')
    echo "$lifecycles $instructions"
}

# Prints the count of one lifecycle: the bench flags in `extra`.
per_lifecycle() {
    local short_lifecycles short_instructions long_lifecycles long_instructions
    read -r short_lifecycles short_instructions < <(count 4)
    read -r long_lifecycles long_instructions < <(count 12)
    local lifecycles=$((long_lifecycles - short_lifecycles))
    local instructions=$((long_instructions - short_instructions))
    echo "server: $short_instructions instructions for $short_lifecycles lifecycles, $long_instructions for $long_lifecycles"
    echo "per lifecycle: $((instructions / lifecycles)) instructions ($lifecycles lifecycles apart)"
}

if [ ${#extra[@]} -gt 0 ]; then
    per_lifecycle
else
    for dialect in design 1.1; do
        echo "$dialect lifecycle:"
        extra=(--calls-api "$dialect")
        per_lifecycle
    done
fi
