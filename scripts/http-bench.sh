#!/usr/bin/env bash
# scripts/http-bench.sh volatile|durable [seconds] [vmap bench loops]
#
# One `vmap node` (cluster-config/three-local.conf, alone; `volatile` adds vmap.mode = volatile)
# on HTTP port 8091 with a fresh data directory, then, against its JSON API:
#   1. wrk, 2 threads, 32 connections: POST /v1/areas and DELETE of the area (scripts/wrk/allocfree.lua)
#   2. wrk, 2 threads, 4 connections: POST /v1/areas/batch, 1,000 allocations each (scripts/wrk/batch.lua)
#   3. vmap bench --target http://127.0.0.1:8091 --nr-threads 2 --test fix_size_alloc_test, 10,000 loops
#      per worker unless given (BENCHMARKS.md's warm figures: 40,000 to 60,000)
# (after one unreported warm-up run of 1.) and stops the member. Needs wrk (apt-get install wrk) and a built tree (./vmap builds it).
# The figures are in BENCHMARKS.md; clients and member share the machine's CPUs.
set -euo pipefail
mode=${1:?usage: scripts/http-bench.sh volatile|durable [seconds] [vmap bench loops]}
secs=${2:-10}
loops=${3:-10000}
cd "$(dirname "$0")/.."
command -v wrk >/dev/null || { echo "http-bench.sh: wrk is not installed (apt-get install wrk)" >&2; exit 2; }
work=$(mktemp -d /tmp/vmap-http-bench.XXXXXX)
conf=cluster-config/three-local.conf
if [ "$mode" = volatile ]; then
  printf 'include "%s"\nvmap.mode = volatile\n' "$PWD/cluster-config/three-local.conf" > "$work/volatile.conf"
  conf=$work/volatile.conf
elif [ "$mode" != durable ]; then
  echo "http-bench.sh: mode '$mode' is neither volatile nor durable" >&2; exit 2
fi
./vmap node --config "$conf" --port 2551 --http-port 8091 --data-dir "$work/data" > "$work/member.log" 2>&1 &
member=$!
trap 'kill $member 2>/dev/null || true; wait $member 2>/dev/null || true; rm -rf "$work"' EXIT
for _ in $(seq 1 180); do curl -sf http://127.0.0.1:8091/health/ready >/dev/null && break; sleep 1; done
curl -sf http://127.0.0.1:8091/health/ready >/dev/null || { echo "http-bench.sh: member not ready, log:" >&2; tail -20 "$work/member.log" >&2; exit 1; }
echo "# $mode member ready; $(uptime)"
wrk -t2 -c32 -d"${secs}s" -s scripts/wrk/allocfree.lua http://127.0.0.1:8091 > /dev/null # JIT warm-up
echo "## wrk alloc/free"; wrk -t2 -c32 -d"${secs}s" -s scripts/wrk/allocfree.lua http://127.0.0.1:8091
echo "## wrk batch";      wrk -t2 -c4 -d"${secs}s" -s scripts/wrk/batch.lua http://127.0.0.1:8091/v1/areas/batch
echo "## vmap bench";     ./vmap bench --target http://127.0.0.1:8091 --nr-threads 2 --test fix_size_alloc_test --test-loop-count "$loops" --no-progress
echo "# done; $(uptime)"
