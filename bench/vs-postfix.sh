#!/usr/bin/env bash
# bench/vs-postfix.sh: sluice and Postfix side by side on loopback, doing the same durable work
# (STARTTLS, queue file fsynced before 250), measured by sluice-loadgen in one run, alternating.
# What each figure means and how to read it: bench/README.md. Must run as root (Postfix's master).
set -euo pipefail

usage() {
  cat <<'EOF'
Usage: bench/vs-postfix.sh [--quick] [--keep] [--help]

Starts a private Postfix and a private `sluice serve` on loopback, runs the same loads against
each (alternating which goes first), and prints one table: sluice, Postfix, sluice/Postfix.

  --quick   short runs (3 s per load, 1 and 32 sessions only, no 10,000-session run): a smoke test
  --keep    keep the work directory (configurations, logs, raw JSON results)

Environment: SLUICE_BIN (default build/sluice), LOADGEN (default build/bench/sluice-loadgen),
BENCH_DURATION / BENCH_WARMUP (seconds per load), BENCH_IDLE (idle sessions, default 1000).
EOF
}

ROOT=$(cd "$(dirname "$0")/.." && pwd)
QUICK=0
KEEP=0
for arg in "$@"; do
  case "$arg" in
    --quick) QUICK=1 ;;
    --keep) KEEP=1 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "vs-postfix.sh: unknown argument '$arg' (see --help)" >&2; exit 2 ;;
  esac
done

SLUICE_BIN=${SLUICE_BIN:-$ROOT/build/sluice}
LOADGEN=${LOADGEN:-$ROOT/build/bench/sluice-loadgen}
TLS_BENCH=${TLS_BENCH:-$ROOT/build/bench/sluice-tls-bench}
if [[ $QUICK == 1 ]]; then
  DURATION=${BENCH_DURATION:-3}; WARMUP=${BENCH_WARMUP:-1}; IDLE=${BENCH_IDLE:-1000}; HOLD=4; SPEED_SECONDS=1
  SESSION_COUNTS=(1 32); SIZES=(1k 100k)
else
  DURATION=${BENCH_DURATION:-10}; WARMUP=${BENCH_WARMUP:-2}; IDLE=${BENCH_IDLE:-1000}; HOLD=8; SPEED_SECONDS=2
  SESSION_COUNTS=(1 8 32 128); SIZES=(1k 100k)
fi
CONN_SESSIONS=16  # concurrent clients in the new-connections test

die() { echo "vs-postfix.sh: $*" >&2; exit 1; }
[[ $(id -u) == 0 ]] || die "must run as root (Postfix's master runs as root)"
[[ -x $SLUICE_BIN ]] || die "no sluice binary at $SLUICE_BIN (build it, or set SLUICE_BIN)"
[[ -x $LOADGEN ]] || die "no load generator at $LOADGEN (build target sluice-loadgen, or set LOADGEN)"
for tool in postfix postconf openssl jq python3; do
  command -v "$tool" > /dev/null || die "$tool is not installed"
done
[[ -d /etc/postfix ]] || die "/etc/postfix is missing (apt-get install postfix)"

WORK=$(mktemp -d /tmp/vs-postfix.XXXXXX)
# Postfix's daemons run as user postfix and must traverse every parent of their queue.
chmod 755 "$WORK"
RESULTS=$WORK/results.jsonl
SLUICE_PID=
PF_CONF=$WORK/postfix/etc
PF_QUEUE=$WORK/postfix/queue
PF_STARTED=0
LOADGEN_PID=

cleanup() {
  local status=$?
  trap - EXIT INT TERM
  if [[ -n $LOADGEN_PID ]]; then kill "$LOADGEN_PID" 2> /dev/null || true; fi
  if [[ $PF_STARTED == 1 ]]; then
    postfix -c "$PF_CONF" stop > /dev/null 2>&1 || true
  fi
  if [[ -n $SLUICE_PID ]]; then
    kill "$SLUICE_PID" 2> /dev/null || true
    for _ in $(seq 50); do kill -0 "$SLUICE_PID" 2> /dev/null || break; sleep 0.1; done
    kill -9 "$SLUICE_PID" 2> /dev/null || true
  fi
  if [[ $KEEP == 1 || $status != 0 ]]; then
    echo "vs-postfix.sh: work directory kept: $WORK" >&2
  else
    rm -rf "$WORK"
  fi
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

wait_for_port() {  # port, what, log file
  for _ in $(seq 300); do
    if (exec 3<> "/dev/tcp/127.0.0.1/$1") 2> /dev/null; then return 0; fi
    sleep 0.1
  done
  cat "$3" >&2 || true
  die "$2 did not listen on 127.0.0.1:$1"
}

# ---- sluice ----------------------------------------------------------------------------------
SLUICE_PORT=$(free_port)
mkdir -p "$WORK/sluice"
cat > "$WORK/sluice.toml" <<EOF
state_dir = "$WORK/sluice"
hostname = "sluice.bench"
local_domains = ["localhost"]
# The same durable work as Postfix below: fsynced into the queue before 250, then discarded.
local_delivery = "discard"

[limits]
# 1,000 idle sessions and more all come from 127.0.0.1.
max_connections = 20000
max_connections_per_ip = 20000
command_timeout = "10m"

[[receive_connector]]
name = "Bench"
listen = ["127.0.0.1:$SLUICE_PORT"]
EOF
# Both servers get the descriptor limit's maximum (each session is a socket).
ulimit -n "$(ulimit -Hn)"
# As whoever runs the bench (root: no service account to drop to, a warning at start).
"$SLUICE_BIN" serve --config "$WORK/sluice.toml" --user "$(id -un)" > "$WORK/sluice.log" 2>&1 &
SLUICE_PID=$!
wait_for_port "$SLUICE_PORT" "sluice" "$WORK/sluice.log"
for f in ecdsa.crt ecdsa.key rsa.crt rsa.key; do
  [[ -s $WORK/sluice/tls/$f ]] || die "sluice made no $WORK/sluice/tls/$f"
done

# ---- Postfix ---------------------------------------------------------------------------------
PF_PORT=$(free_port)
mkdir -p "$WORK/postfix/queue" "$WORK/postfix/data" "$WORK/postfix/tls"
cp -a /etc/postfix "$PF_CONF"
chown postfix:postfix "$WORK/postfix/data"
chmod 755 "$WORK/postfix" "$WORK/postfix/queue"
# The same two certificates sluice made (ECDSA P-256 first, RSA-2048 for clients without ECDSA).
install -m 600 "$WORK/sluice/tls/"* "$WORK/postfix/tls/"
cat > "$PF_CONF/main.cf" <<EOF
compatibility_level = 3.6
queue_directory = $PF_QUEUE
data_directory = $WORK/postfix/data
myhostname = postfix.bench
mydomain = postfix.bench
myorigin = \$myhostname
mydestination = localhost
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
alias_maps =
alias_database =
local_recipient_maps =
maillog_file = $WORK/postfix/postfix.log
maillog_file_prefixes = $WORK
biff = no
smtp_dns_support_level = disabled
# Accept durably (cleanup fsyncs the queue file before smtpd answers 250), then throw away.
default_transport = discard
relay_transport = discard
local_transport = discard
# TLS as sluice offers it: the same ECDSA and RSA certificates, TLS 1.2 and 1.3 only.
smtpd_tls_security_level = may
smtpd_tls_chain_files = $WORK/postfix/tls/ecdsa.key, $WORK/postfix/tls/ecdsa.crt, $WORK/postfix/tls/rsa.key, $WORK/postfix/tls/rsa.crt
smtpd_tls_protocols = >=TLSv1.2
smtpd_tls_mandatory_protocols = >=TLSv1.2
smtpd_tls_loglevel = 0
# Nothing that would throttle one busy loopback client: no per-client limits (so no anvil
# round trips), processes for 1,000 idle sessions and more, no inflow pause, no reverse DNS
# (sluice does none either), no timeout while the idle sessions are held.
default_process_limit = 2500
smtpd_client_connection_count_limit = 0
smtpd_client_connection_rate_limit = 0
smtpd_client_message_rate_limit = 0
smtpd_client_recipient_rate_limit = 0
smtpd_client_new_tls_session_rate_limit = 0
smtpd_client_event_limit_exceptions = 127.0.0.0/8
in_flow_delay = 0s
smtpd_peername_lookup = no
smtpd_timeout = 600s
EOF
postconf -c "$PF_CONF" -F '*/*/chroot = n' > /dev/null
postconf -c "$PF_CONF" -MX smtp/inet > /dev/null
postconf -c "$PF_CONF" -M "127.0.0.1:$PF_PORT/inet = 127.0.0.1:$PF_PORT inet n - n - - smtpd" > /dev/null
postfix -c "$PF_CONF" check > "$WORK/postfix-check.log" 2>&1 || { cat "$WORK/postfix-check.log" >&2; die "postfix check failed"; }
postfix -c "$PF_CONF" start > "$WORK/postfix-start.log" 2>&1 || { cat "$WORK/postfix-start.log" >&2; die "postfix start failed"; }
PF_STARTED=1
wait_for_port "$PF_PORT" "Postfix" "$WORK/postfix/postfix.log"

# ---- measuring helpers -----------------------------------------------------------------------
port_of() { [[ $1 == sluice ]] && echo "$SLUICE_PORT" || echo "$PF_PORT"; }

postfix_smtpd_pids() {
  local master
  master=$(tr -d ' \n' < "$PF_QUEUE/pid/master.pid")
  pgrep -P "$master" -x smtpd || true
}

# Sum of a /proc field (KiB) over pids: VmRSS from status, Pss from smaps_rollup.
sum_kib() {  # field file pids...
  local field=$1 file=$2 total=0 v
  shift 2
  for pid in "$@"; do
    v=$(awk -v f="$field:" '$1 == f { print $2 }' "/proc/$pid/$file" 2> /dev/null || true)
    total=$((total + ${v:-0}))
  done
  echo "$total"
}

memory_of() {  # server field file: its resident memory now, KiB
  if [[ $1 == sluice ]]; then
    sum_kib "$2" "$3" "$SLUICE_PID"
  else
    # shellcheck disable=SC2046
    sum_kib "$2" "$3" $(postfix_smtpd_pids)
  fi
}

# Waits until the server has nothing queued, so one server's leftover work never runs during
# the other's measurement (both discard after their 250).
drain() {
  local server=$1
  for _ in $(seq 600); do
    local n
    if [[ $server == sluice ]]; then
      n=$(find "$WORK/sluice/queue" -maxdepth 1 -name '*.json' | wc -l)
    else
      n=$(find "$PF_QUEUE/incoming" "$PF_QUEUE/active" "$PF_QUEUE/maildrop" -type f | wc -l)
    fi
    [[ $n == 0 ]] && break
    sleep 0.1
  done
  # Delivered test mail only fills the disk.
  find "$WORK/sluice/maildir" -type f -path '*/new/*' -delete 2> /dev/null || true
}

# CPU time the machine's processes and interrupts used since boot, in clock ticks (/proc/stat:
# user, nice, system, irq, softirq; not idle, iowait, or steal, the hypervisor's time elsewhere).
machine_busy_ticks() {
  awk '$1 == "cpu" { print $2 + $3 + $4 + $7 + $8 }' /proc/stat
}

# Runs the load generator against one server; appends its JSON report, labelled, to RESULTS.
load() {  # label server loadgen-args...
  local label=$1 server=$2
  shift 2
  drain sluice
  drain postfix
  local out busy0 busy1
  busy0=$(machine_busy_ticks)
  out=$("$LOADGEN" --port "$(port_of "$server")" --json "$@" 2> "$WORK/loadgen.err") || true
  busy1=$(machine_busy_ticks)
  if [[ -z $out ]]; then
    cat "$WORK/loadgen.err" >&2
    die "sluice-loadgen failed for $label on $server"
  fi
  # The server's CPU: the whole machine's during the load minus the load generator's own.
  echo "$out" | jq -c --arg lbl "$label" --arg srv "$server" --argjson busy "$((busy1 - busy0))" \
    --argjson hz "$(getconf CLK_TCK)" \
    '. + {"label": $lbl, "server": $srv, "server_cpu_s": ($busy / $hz - .cpu_user_s - .cpu_sys_s)}' >> "$RESULTS"
  echo "$out" | jq -r --arg lbl "$label" --arg srv "$server" \
    '"  \($srv|.[0:7]) \($lbl): \(.messages_per_s) msg/s, \(.connections_per_s) conn/s, p99 \(.latency_ms.p99) ms, errors \(.errors)"' >&2
}

# Both servers in one order, then the next load in the other, so drift (other work on a shared
# machine, a warming page cache) does not always favour the same side.
ORDER=0
both() {  # label loadgen-args...
  local label=$1
  shift
  if ((ORDER % 2 == 0)); then
    load "$label" sluice "$@"; load "$label" postfix "$@"
  else
    load "$label" postfix "$@"; load "$label" sluice "$@"
  fi
  ORDER=$((ORDER + 1))
}

idle_memory() {  # server sessions label
  local server=$1 sessions=$2 label=$3
  drain sluice
  drain postfix
  local rss0 pss0 ready=$WORK/ready.$server.$sessions
  rm -f "$ready"
  rss0=$(memory_of "$server" VmRSS status)
  pss0=$(memory_of "$server" Pss smaps_rollup)
  "$LOADGEN" --port "$(port_of "$server")" --idle "$sessions" --hold "$HOLD" --ready-file "$ready" --json \
    > "$WORK/idle.$server.$sessions.json" 2> "$WORK/loadgen.err" &
  LOADGEN_PID=$!
  for _ in $(seq 1200); do [[ -e $ready ]] && break; kill -0 "$LOADGEN_PID" 2> /dev/null || break; sleep 0.1; done
  [[ -e $ready ]] || { cat "$WORK/loadgen.err" >&2; die "the idle sessions to $server were never all set up"; }
  sleep 1
  local rss1 pss1 open
  rss1=$(memory_of "$server" VmRSS status)
  pss1=$(memory_of "$server" Pss smaps_rollup)
  wait "$LOADGEN_PID" || true
  LOADGEN_PID=
  open=$(awk '{print $2}' "$ready")
  jq -c --arg lbl "$label" --arg srv "$server" --argjson rss0 "$rss0" --argjson rss1 "$rss1" \
    --argjson pss0 "$pss0" --argjson pss1 "$pss1" \
    '. + {"label": $lbl, "server": $srv, rss_before_kib: $rss0, rss_during_kib: $rss1, pss_before_kib: $pss0, pss_during_kib: $pss1}' \
    "$WORK/idle.$server.$sessions.json" >> "$RESULTS"
  echo "  ${server:0:7} $label: $open open, RSS $rss0 -> $rss1 KiB, PSS $pss0 -> $pss1 KiB" >&2
}

# ---- the run ---------------------------------------------------------------------------------
echo "vs-postfix.sh: sluice on 127.0.0.1:$SLUICE_PORT ($SLUICE_BIN), Postfix $(postconf -d -h mail_version) on 127.0.0.1:$PF_PORT" >&2
echo "vs-postfix.sh: $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg); work directory $WORK" >&2

# The handshake ceiling: one core's signatures per second for each key type.
SPEED=$(openssl speed -seconds "$SPEED_SECONDS" ecdsap256 rsa2048 2> /dev/null)
ECDSA_SIGN=$(awk '/256 bits ecdsa \(nistp256\)/ { print $(NF-1) }' <<< "$SPEED")
RSA_SIGN=$(awk '$1 == "rsa" && $2 == "2048" { print $(NF-1) }' <<< "$SPEED")
# The floor under it: OpenSSL's own server side of a handshake with sluice's context, in memory.
TLS_FLOOR=$WORK/tls-bench.json
if [[ -x $TLS_BENCH ]]; then
  "$TLS_BENCH" --benchmark_format=json --benchmark_min_time="$SPEED_SECONDS" > "$TLS_FLOOR" 2> "$WORK/tls-bench.err" ||
    { cat "$WORK/tls-bench.err" >&2; die "$TLS_BENCH failed"; }
else
  echo "vs-postfix.sh: no $TLS_BENCH (build target sluice-tls-bench): the in-memory handshake floor is left out" >&2
  echo '{"benchmarks": []}' > "$TLS_FLOOR"
fi

# Warm both up (process pools, page cache, first-use allocations) before anything is measured.
load warmup sluice --sessions 1 --count 20
load warmup postfix --sessions 1 --count 20

# Memory first, before the throughput loads grow either side's heap or process pool.
idle_memory sluice "$IDLE" idle
idle_memory postfix "$IDLE" idle

for size in "${SIZES[@]}"; do
  for n in "${SESSION_COUNTS[@]}"; do
    both "msgs-$n-$size" --sessions "$n" --size "$size" --tls 1.3 --duration "$DURATION" --warmup "$WARMUP"
  done
done
both "conn-tls13" --sessions "$CONN_SESSIONS" --size 1k --tls 1.3 --per-connection 1 --duration "$DURATION" --warmup "$WARMUP"
both "conn-tls12" --sessions "$CONN_SESSIONS" --size 1k --tls 1.2 --per-connection 1 --duration "$DURATION" --warmup "$WARMUP"
# The same without mail (connect, STARTTLS, EHLO, QUIT): the handshake rate itself, without fsync.
both "hs-tls13" --sessions "$CONN_SESSIONS" --tls 1.3 --connect-only --duration "$DURATION" --warmup "$WARMUP"
if [[ $QUICK == 0 ]]; then
  # The target's second half: 10,000 idle TLS sessions within 1 GiB (sluice only; Postfix would
  # need 10,000 processes).
  idle_memory sluice 10000 idle10k
fi

# ---- the table -------------------------------------------------------------------------------
python3 - "$RESULTS" "$ECDSA_SIGN" "$RSA_SIGN" "$DURATION" "$WARMUP" "$TLS_FLOOR" <<'PY'
import json, sys
path, ecdsa, rsa, duration, warmup, floor_path = sys.argv[1:7]
floor = {b["name"]: b for b in json.load(open(floor_path))["benchmarks"] if not b.get("error_occurred")}
runs = {}
for line in open(path):
    r = json.loads(line)
    runs[(r["label"], r["server"])] = r

rows, notes = [], []
def ratio(a, b):
    return f"{a / b:.2f}" if a and b else "-"
def row(name, s, p, fmt="{:.1f}"):
    rows.append((name, fmt.format(s) if s is not None else "-", fmt.format(p) if p is not None else "-",
                 ratio(s, p) if s is not None and p is not None else "-"))
def flag(label):
    for server in ("sluice", "postfix"):
        r = runs.get((label, server))
        if r and r["errors"]:
            texts = "; ".join(f'{e["count"]}x {e["text"]}' for e in r["error_texts"][:3])
            notes.append(f"{server} {label}: {r['errors']} errors: {texts}")

labels = [k[0] for k in runs if k[1] == "sluice"]
for label in labels:
    if label.startswith("msgs-"):
        _, n, size = label.split("-")
        unit = "KiB" if size.endswith("k") else "B"
        name = f"messages/s, {n:>3} sessions, {size[:-1] if size.endswith('k') else size} {unit}, TLS 1.3"
        row(name, runs[(label, "sluice")]["messages_per_s"], runs.get((label, "postfix"), {}).get("messages_per_s"))
        flag(label)
for label, name in (("conn-tls13", "new TLS 1.3 connections/s (1 message each)"),
                    ("conn-tls12", "new TLS 1.2 connections/s (1 message each)"),
                    ("hs-tls13", "TLS 1.3 sessions/s without mail (STARTTLS, EHLO, QUIT)")):
    if (label, "sluice") in runs:
        row(name, runs[(label, "sluice")]["connections_per_s"], runs.get((label, "postfix"), {}).get("connections_per_s"))
        flag(label)
def server_ms(label, server):
    # Per connection, over the whole run (warm-up included, at the same pace).
    r = runs.get((label, server))
    if not r or not r["connections_per_s"]:
        return None
    return 1000 * r["server_cpu_s"] / (r["connections_per_s"] * (r["elapsed_s"] + float(warmup)))
for label, name in (("conn-tls13", "server CPU ms per new TLS 1.3 connection (1 message)"),
                    ("hs-tls13", "server CPU ms per TLS 1.3 session without mail")):
    if (label, "sluice") in runs:
        row(name, server_ms(label, "sluice"), server_ms(label, "postfix"), "{:.2f}")
def per_session(r, what):
    n = r["idle_open"]
    return (r[f"{what}_during_kib"] - r[f"{what}_before_kib"]) / n if n else None
if ("idle", "sluice") in runs:
    s, p = runs[("idle", "sluice")], runs.get(("idle", "postfix"))
    n = s["idle_open"]
    row(f"RSS KiB per idle TLS session ({n} open; Postfix: sum over smtpd)", per_session(s, "rss"), p and per_session(p, "rss"))
    row(f"PSS KiB per idle TLS session (shared pages divided)", per_session(s, "pss"), p and per_session(p, "pss"))
    flag("idle")
    for r in (s, p):
        if r and r["idle_failed"]:
            notes.append(f'{r["server"]} idle: {r["idle_failed"]} sessions could not be set up')
if ("idle10k", "sluice") in runs:
    r = runs[("idle10k", "sluice")]
    rows.append((f'sluice RSS MiB with {r["idle_open"]} idle TLS sessions', f'{r["rss_during_kib"] / 1024:.0f}', "-", "-"))
    flag("idle10k")
rows.append(("openssl speed: ECDSA P-256 sign/s, one core (ceiling)", ecdsa or "-", "", ""))
rows.append(("openssl speed: RSA-2048 sign/s, one core", rsa or "-", "", ""))
def per_core(name):
    b = floor.get(name)
    return b and b["items_per_second"]
hs_floor, ecdsa_sign = per_core("ServerHandshake/tls13/manual_time"), per_core("Sign/ecdsa_p256")
if hs_floor:
    rows.append(("OpenSSL alone: server side of a TLS 1.3 handshake/s, one core", f"{hs_floor:.0f}", "", ""))
    rows.append(("OpenSSL alone: ECDSA P-256 sign/s with the same key (EVP), one core", f"{ecdsa_sign:.0f}", "", ""))

w = max(len(r[0]) for r in rows)
print(f"{'':{w}}  {'sluice':>10}  {'postfix':>10}  {'sluice/postfix':>14}")
for name, s, p, q in rows:
    print(f"{name:{w}}  {s:>10}  {p:>10}  {q:>14}")

print()
print(f"latency of the final 250 (ms, p50 / p99 / max) and the load generator's CPU share, {duration} s per load:")
for label in labels:
    if label.startswith(("msgs-", "conn-", "hs-")):
        parts = []
        for server in ("sluice", "postfix"):
            r = runs.get((label, server))
            if r:
                cpu = (r["cpu_user_s"] + r["cpu_sys_s"]) / (r["elapsed_s"] + float(warmup))
                parts.append(f'{server} {r["latency_ms"]["p50"]:.1f} / {r["latency_ms"]["p99"]:.1f} / {r["latency_ms"]["max"]:.1f}'
                             f' (client cpu {cpu:.0%})')
        print(f"  {label:16} " + "   ".join(parts))
tls = runs.get(("conn-tls13", "sluice"), {})
tlsp = runs.get(("conn-tls13", "postfix"), {})
print(f"negotiated: sluice {tls.get('tls_version')} {tls.get('tls_cipher')} {tls.get('server_key')}; "
      f"postfix {tlsp.get('tls_version')} {tlsp.get('tls_cipher')} {tlsp.get('server_key')}")
hs_ms = server_ms("hs-tls13", "sluice")
if hs_floor and hs_ms:
    pf_ms = server_ms("hs-tls13", "postfix")
    print(f"\nthe handshake ceiling, per core of server CPU: sluice serve {1000 / hs_ms:.0f} TLS 1.3 sessions/s"
          + (f", Postfix {1000 / pf_ms:.0f}" if pf_ms else "")
          + f"; OpenSSL alone (in memory, sluice's context) {hs_floor:.0f}/s, which is {hs_floor / ecdsa_sign:.0%} of the"
          f" {ecdsa_sign:.0f} ECDSA signatures/s; sluice serve runs at {1000 / hs_ms / hs_floor:.0%} of OpenSSL's own rate")
if notes:
    print("\nerrors (a failed message is never counted as throughput):")
    for n in notes:
        print("  " + n)
PY
