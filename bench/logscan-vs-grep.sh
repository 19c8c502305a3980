#!/usr/bin/env bash
# Times `sluice logscan` (full report) against `LC_ALL=C grep -c SP_PROT_TLS1_0` and `wc -l` on the
# same synthetic 1 GiB Exchange receive log, side by side, and prints MB/s.
#
#   bench/logscan-vs-grep.sh [SIZE_MIB]
#
# Environment: SLUICE_BIN (default build/sluice; build it with -O2, e.g. CMAKE_BUILD_TYPE=Release),
# BENCH_DIR (where the generated log is kept between runs; default /tmp), BENCH_RUNS (default 5:
# each tool runs that many times, interleaved; the table shows the best and the median run, since
# other work on the machine only ever makes a run slower).
# The file is read once before timing, so every tool reads from the page cache: this compares
# parsing speed, not the disk.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
size_mib=${1:-1024}
sluice=${SLUICE_BIN:-$here/../build/sluice}
dir=${BENCH_DIR:-/tmp}
runs=${BENCH_RUNS:-5}
log=$dir/logscan-bench-${size_mib}MiB.LOG

[ -x "$sluice" ] || { echo "no sluice binary at $sluice (set SLUICE_BIN)" >&2; exit 2; }
if [ ! -s "$log" ] || [ "$here/gen_exchange_log.py" -nt "$log" ]; then
  python3 "$here/gen_exchange_log.py" "$log" "$size_mib"
fi
bytes=$(stat -L -c %s "$log")
out=$(mktemp)
cat "$log" > /dev/null

declare -A times cpu
timing=$(mktemp)
trap 'rm -f "$out" "$timing"' EXIT
run() {  # name, command...: appends the wall and CPU (user + system) seconds of one run
  local name=$1
  shift
  local status=0
  # Not > /dev/null: GNU grep notices that and stops at the first match.
  local TIMEFORMAT='%R %U %S'
  { time { "$@" > "$out" 2> /dev/null || status=$?; }; } 2> "$timing"
  # logscan exits 1 when it finds legacy TLS (it will here), grep 0; anything else is an error.
  if [ "$status" -gt 1 ]; then echo "$name failed with status $status" >&2; exit 1; fi
  read -r wall user sys < <(tail -1 "$timing")
  times[$name]="${times[$name]:-} $wall"
  cpu[$name]="${cpu[$name]:-} $(awk -v u="$user" -v s="$sys" 'BEGIN {print u + s}')"
}

for ((i = 0; i < runs; i++)); do
  run "wc -l" wc -l "$log"
  run "grep -c SP_PROT_TLS1_0" env LC_ALL=C grep -c SP_PROT_TLS1_0 "$log"
  run "sluice logscan --json" "$sluice" logscan --json "$log"
  run "sluice logscan -j1 --json" "$sluice" logscan -j1 --json "$log"
done

best() { tr ' ' '\n' <<< "$1" | grep . | sort -n | head -1; }
median() { tr ' ' '\n' <<< "$1" | grep . | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
mbs() { awk -v b="$bytes" -v t="$1" 'BEGIN {print b / t / 1000000}'; }
echo "file: $log ($bytes bytes, $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg))"
printf '%-27s %8s %8s %10s %10s %8s\n' tool "best s" "MB/s" "median s" "MB/s" "CPU s"
for name in "wc -l" "grep -c SP_PROT_TLS1_0" "sluice logscan --json" "sluice logscan -j1 --json"; do
  b=$(best "${times[$name]}")
  m=$(median "${times[$name]}")
  c=$(best "${cpu[$name]}")
  printf '%-27s %8.3f %8.0f %10.3f %10.0f %8.3f\n' "$name" "$b" "$(mbs "$b")" "$m" "$(mbs "$m")" "$c"
done
g=$(best "${times[grep -c SP_PROT_TLS1_0]}")
l=$(best "${times[sluice logscan --json]}")
printf 'logscan / grep throughput (best runs): %.2f (target: at least 0.5)\n' "$(awk -v g="$g" -v l="$l" 'BEGIN {print g / l}')"
