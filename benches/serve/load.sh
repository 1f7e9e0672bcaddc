#!/usr/bin/env bash
# Load test of `wirelab serve` (docs/benchmarks.md, "wirelab serve under
# load"): while benches/serve/long-run.yaml runs at --speed max, wrk reads
# GET /api/v1/labs/serve-load/counters, then GET /metrics, for 10 s each
# on loopback, and prints requests/s, latency percentiles and errors.
# Needs wrk (Debian's package) and a release build.
set -euo pipefail
cd "$(dirname "$0")/../.."
command -v wrk >/dev/null || { echo "wrk is not installed (apt-get install wrk)" >&2; exit 2; }
cargo build --release --quiet -p wirelab
bin=target/release/wirelab
log=$(mktemp)
"$bin" serve benches/serve/long-run.yaml --listen 127.0.0.1:0 --speed max 2>"$log" &
pid=$!
trap 'kill $pid 2>/dev/null; rm -f "$log"' EXIT
for _ in $(seq 100); do grep -q "serving" "$log" && break; sleep 0.1; done
root=$(grep -o 'http://[0-9.:]*' "$log" | head -1)
id=long-run
for path in "/api/v1/labs/$id/counters" "/metrics"; do
  echo "== GET $path (simulated time before: $(curl -s "$root/api/v1/labs/$id" | grep -o '"time": *"[^"]*"' | head -1))"
  wrk -t 2 -c 16 -d 10s --latency "$root$path" | sed -n '1,20p'
done
echo "== simulated time at the end: $(curl -s "$root/api/v1/labs/$id" | grep -o '"time": *"[^"]*"' | head -1), still $(curl -s "$root/api/v1/labs/$id" | grep -o '"state": *"[^"]*"' | head -1)"
