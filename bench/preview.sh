#!/usr/bin/env bash
# bench/preview.sh - the preview proxy benchmark of issue 5, as one command.
#
# Starts a private coved (state, socket and logs under /var/tmp/cove-pvbench-PID, its own
# cgroup root and uid range, TCP on 127.0.0.1:<free port>), creates one sandbox, uploads
# bench/preview-upstream.c built -static (a one-thread epoll HTTP/1.1 keep-alive server:
# 13 bytes for any request, N bytes for GET /bytes/N, request bodies read and dropped) and
# starts it on port 8080 as an async session command. Then, in the same run, with wrk:
#   1. latency, one connection (-c1): the server reached directly, from inside the sandbox's
#      network namespace (nsenter --net=/proc/<init pid>/ns/net wrk ...), and through the
#      preview proxy (Host: 8080-<id>.localhost:<port>, X-Daytona-Preview-Token);
#   2. throughput of small answers, C connections (default 16), same two paths;
#   3. large bodies, 4 connections: download (GET /bytes/1048576) and upload (POST of
#      1 MiB, bench/preview-post.lua), same two paths;
#   4. if nginx is installed: the same small-answer and download rows through nginx run
#      inside the sandbox's netns as a keep-alive reverse proxy (a reference: what a
#      mature event-driven proxy gets on this host);
#   rows 1-4 interleave over R rounds (default 3) so that host noise hits every path alike;
#      the report gives the median round of each row and each ratio to direct;
#   5. 1000 concurrent keep-alive connections through the proxy (wrk -c1000), errors counted;
#   6. optionally (-P) where coved's time goes during a proxy throughput run: perf record
#      -g on coved, and strace -c -f on coved (a separate, shorter run: strace slows it).
# then stops coved, cleans up, and prints a markdown report on stdout (progress on stderr).
# Must run as root.
#
# usage: bench/preview.sh [-d SECONDS] [-r ROUNDS] [-c CONNS] [-t THREADS] [-R on|off] [-P] [-k]
#   -d SECONDS  duration of each wrk row (default 10)
#   -r ROUNDS   interleaved rounds of rows 1-4 (default 3)
#   -c CONNS    connections of the small-answer throughput rows (default 16)
#   -t THREADS  wrk threads of rows 1-4 (default 1; the 1000-connection row uses 2)
#   -R on|off   coved --preview-relay (default on: the event-driven relay; off: libmicrohttpd)
#   -P          profile coved (perf, strace -c)
#   -k          keep the work directory (logs, raw wrk output, profiles)
# env: COVE_BUILD (default: <repo>/build), WORK (default /var/tmp/cove-pvbench-PID)
set -u
SELF=$(readlink -f "$0")
HERE=$(dirname "$SELF")
REPO=$(dirname "$HERE")
ARGS_ORIG="$*"
DUR=10 ROUNDS=3 CONNS=16 THREADS=1 PROFILE=0 KEEP=0 RELAY=on
while getopts "d:r:c:t:R:Pkh" o; do
    case $o in
    d) DUR=$OPTARG ;; r) ROUNDS=$OPTARG ;; c) CONNS=$OPTARG ;; t) THREADS=$OPTARG ;;
    R) RELAY=$OPTARG ;; P) PROFILE=1 ;; k) KEEP=1 ;;
    *) sed -n '2,35p' "$SELF" >&2; exit 2 ;;
    esac
done
[ "$RELAY" = on ] || [ "$RELAY" = off ] || { echo "bench/preview.sh: -R wants on or off" >&2; exit 2; }
for v in "$DUR" "$ROUNDS" "$CONNS" "$THREADS"; do
    [[ $v =~ ^[1-9][0-9]*$ ]] || { echo "bench/preview.sh: '$v' is not a positive number" >&2; exit 2; }
done
log() { printf '[pvbench %(%H:%M:%S)T] %s\n' -1 "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }
[ "$(id -u)" = 0 ] || { echo "bench/preview.sh: must run as root" >&2; exit 1; }
for t in gcc wrk nsenter curl sqlite3; do command -v $t >/dev/null || die "$t is not installed"; done
[ $PROFILE = 0 ] || for t in perf strace; do command -v $t >/dev/null || die "$t is not installed (-P)"; done

BUILD=${COVE_BUILD:-$REPO/build}
[ -x "$BUILD/src/daemon/coved" ] && [ -x "$BUILD/src/init/cove-init" ] ||
    die "no coved/cove-init in $BUILD (build with: meson setup build && ninja -C build)"
COMMIT=$(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo unknown)
DIRTY=$(git -C "$REPO" status --porcelain --untracked-files=no 2>/dev/null | grep -q . && echo " + uncommitted changes")
# wrk -c1000 and coved (two sockets per proxied connection) need fds: take the hard limit.
ulimit -n "$(ulimit -Hn)" 2>/dev/null
[ "$(ulimit -n)" = unlimited ] || (($(ulimit -n) >= 4096)) || die "fd limit $(ulimit -n) < 4096"

WORK=${WORK:-/var/tmp/cove-pvbench-$$}
mkdir -p "$WORK/bin" && chmod 755 "$WORK" || die "cannot create $WORK"
SOCK=$WORK/coved.sock
CGROOT=cove-pvbench-$$
UID_RANGE=$((65536 * 1100))
COVED_PID="" UIDB="" NGINX_PID=""

uid_range_pids() { # lo hi -> pids whose real uid is in [lo, hi)
    grep -H '^Uid:' /proc/[0-9]*/status 2>/dev/null |
        awk -v lo="$1" -v hi="$2" '$2 >= lo && $2 < hi {split($1, a, "/"); print a[3]}'
}
uid_bases_in_use() { # the --uid-base of every running coved
    local f
    for f in /proc/[0-9]*/cmdline; do
        tr '\0' '\n' <"$f" 2>/dev/null | sed -n '/^--uid-base$/{n;p}'
    done
}
cleanup() {
    local rc=$? p m d
    trap - EXIT INT TERM
    [ -n "$NGINX_PID" ] && kill -TERM "$NGINX_PID" 2>/dev/null
    if [ -n "$COVED_PID" ] && kill -0 "$COVED_PID" 2>/dev/null; then
        [ -n "${SBID:-}" ] && api DELETE "/v1/sandboxes/$SBID" >/dev/null 2>&1
        kill -TERM "$COVED_PID" 2>/dev/null
        for ((i = 0; i < 100; i++)); do kill -0 "$COVED_PID" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$COVED_PID" 2>/dev/null
    fi
    if [ -n "$UIDB" ]; then
        for p in $(uid_range_pids "$UIDB" $((UIDB + UID_RANGE))); do kill -KILL "$p" 2>/dev/null; done
    fi
    for m in $(awk -v p="$WORK/" 'index($5, p) == 1 {print $5}' /proc/self/mountinfo | sort -r); do
        umount -l "$m" 2>/dev/null
    done
    for d in /sys/fs/cgroup/$CGROOT /sys/fs/cgroup/*/$CGROOT; do
        [ -d "$d" ] && find "$d" -depth -type d -exec rmdir {} + 2>/dev/null
    done
    if [ $KEEP = 0 ]; then rm -rf --one-file-system "$WORK"; else log "kept $WORK"; fi
    exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# A uid range of our own in 2.3e9..2.6e9 (below bench/run's window and the tests' 3e9..),
# with no process in it and no running coved whose range overlaps it.
USED=$(uid_bases_in_use)
for ((s = 0; s < 4; s++)); do
    b=$((2300000000 + (($$ + s) % 4) * UID_RANGE)) clash=""
    for u in $USED; do ((u < b + UID_RANGE && b < u + UID_RANGE)) && clash=1; done
    [ -z "$clash" ] && [ -z "$(uid_range_pids "$b" $((b + UID_RANGE)))" ] && { UIDB=$b; break; }
done
[ -n "$UIDB" ] || die "no free uid range at 2300000000.. (other benchmarks running?)"

cp "$BUILD/src/daemon/coved" "$BUILD/src/init/cove-init" "$WORK/bin/" || die "cannot copy the binaries"
gcc -std=gnu11 -O2 -Wall -Wextra -static -o "$WORK/bin/upstream" "$HERE/preview-upstream.c" ||
    die "preview-upstream.c did not build"

log "starting coved (state $WORK/state, cgroup root $CGROOT, uid base $UIDB)"
mkfifo "$WORK/ready" && exec 7<>"$WORK/ready" || die "ready fifo"
setsid "$WORK/bin/coved" --state "$WORK/state" --listen 127.0.0.1:0 --socket "$SOCK" \
    --cgroup-root "$CGROOT" --uid-base "$UIDB" --init "$WORK/bin/cove-init" --ready-fd 3 \
    --preview-relay "$RELAY" \
    3>"$WORK/ready" </dev/null >"$WORK/coved.out" 2>"$WORK/coved.log" &
COVED_PID=$!
READY=""
for ((i = 0; i < 30; i++)); do
    read -r -t 1 -u 7 READY && break
    kill -0 "$COVED_PID" 2>/dev/null || { tail -20 "$WORK/coved.log" >&2; die "coved exited during start-up"; }
done
exec 7<&-
[ "$(cat /proc/$COVED_PID/comm 2>/dev/null)" = coved ] || die "pid $COVED_PID is not coved"
[[ $READY == "READY port="* ]] || { tail -20 "$WORK/coved.log" >&2; die "coved wrote no READY line in 30 s"; }
PORT=${READY#READY port=}
KEY=$(sed -n 's/^api-key: //p' "$WORK/coved.out" | head -1)
[ -n "$KEY" ] || die "coved printed no api-key line"

api() { # METHOD PATH [curl args...] -> body on stdout; fails on HTTP >= 400
    local m=$1 p=$2; shift 2
    curl -sS --fail-with-body --unix-socket "$SOCK" -X "$m" -H "Authorization: Bearer $KEY" \
        "$@" "http://localhost$p"
}
jget() { python3 -c 'import json,sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"; }

SB=$(api POST /v1/sandboxes -H 'Content-Type: application/json' -d '{"name":"pvbench","cpu":2}') ||
    die "create failed: $SB"
SBID=$(jget id <<<"$SB")
api PUT "/v1/sandboxes/$SBID/files/content?path=upstream&mode=755" --data-binary @"$WORK/bin/upstream" \
    >/dev/null || die "upload failed"
api POST "/v1/sandboxes/$SBID/sessions" -H 'Content-Type: application/json' -d '{"id":"bench"}' \
    >/dev/null || die "session failed"
CMD=$(api POST "/v1/sandboxes/$SBID/sessions/bench/exec" -H 'Content-Type: application/json' \
    -d '{"command":"./upstream 8080","async":true}') || die "exec failed: $CMD"
TOKEN=$(api GET "/v1/sandboxes/$SBID/preview/8080" | jget token) || die "no preview token"
INIT_PID=$(sqlite3 "file:$WORK/state/cove.db?mode=ro" "SELECT init_pid FROM sandboxes WHERE id='$SBID'")
[[ $INIT_PID =~ ^[0-9]+$ ]] && [ -e "/proc/$INIT_PID/ns/net" ] || die "no init pid for $SBID ($INIT_PID)"
NETNS=/proc/$INIT_PID/ns/net
HOSTHDR="8080-$SBID.localhost:$PORT"
PROXY_URL="http://127.0.0.1:$PORT/"
DIRECT_URL="http://127.0.0.1:8080/"
# The first request through the proxy waits for the server to listen (readiness wait).
got=$(curl -sS -m 15 -H "Host: $HOSTHDR" -H "X-Daytona-Preview-Token: $TOKEN" "$PROXY_URL") ||
    die "first proxy request failed"
[ "$got" = "Hello, world" ] || die "unexpected answer through the proxy: $got"
got=$(nsenter --net="$NETNS" curl -sS -m 5 "$DIRECT_URL") || die "direct request failed"
[ "$got" = "Hello, world" ] || die "unexpected direct answer: $got"
log "sandbox $SBID, init pid $INIT_PID, coved port $PORT, upstream ready"

# ---------------------------------------------------------------- wrk
PROXY_WRK=(wrk -H "Host: $HOSTHDR" -H "X-Daytona-Preview-Token: $TOKEN")
DIRECT_WRK=(nsenter --net="$NETNS" wrk)
NGINX_URL="http://127.0.0.1:8081/"
BIG=1048576
# run_wrk NAME PATH(direct|proxy|nginx) URL-PATH wrk-args... -> raw output in $WORK/wrk-NAME
run_wrk() {
    local name=$1 path=$2 up=$3; shift 3
    case $path in
    direct) "${DIRECT_WRK[@]}" --latency "$@" "$DIRECT_URL$up" >"$WORK/wrk-$name" 2>&1 ;;
    nginx) "${DIRECT_WRK[@]}" --latency "$@" "$NGINX_URL$up" >"$WORK/wrk-$name" 2>&1 ;;
    *) "${PROXY_WRK[@]}" --latency "$@" "$PROXY_URL$up" >"$WORK/wrk-$name" 2>&1 ;;
    esac
}
# parse FILE -> "rps p50_us p99_us requests errors non2xx MB/s(read)"
to_us() { awk '{ v = $1; u = v; sub(/[0-9.]+/, "", u); sub(/[a-z]+$/, "", v);
                 m = (u == "us") ? 1 : (u == "ms") ? 1000 : (u == "s") ? 1000000 : 0;
                 printf "%.0f", v * m }'; }
parse() {
    local f=$1 rps p50 p99 reqs errs non mbs
    rps=$(awk '/^Requests\/sec:/ {printf "%.0f", $2}' "$f")
    p50=$(awk '$1 == "50%" {print $2}' "$f" | to_us)
    p99=$(awk '$1 == "99%" {print $2}' "$f" | to_us)
    reqs=$(awk '/requests in/ {print $1}' "$f")
    errs=$(awk '/Socket errors:/ {gsub(",", ""); print $4 + $6 + $8 + $10}' "$f")
    non=$(awk '/Non-2xx or 3xx responses:/ {print $NF}' "$f")
    mbs=$(awk '/^Transfer\/sec:/ { v = $2; u = v; sub(/[0-9.]+/, "", u); sub(/[A-Z]+$/, "", v);
               m = (u == "KB") ? 1 / 1024 : (u == "MB") ? 1 : (u == "GB") ? 1024 : 1 / 1048576;
               printf "%.0f", v * m }' "$f")
    echo "${rps:-0} ${p50:-0} ${p99:-0} ${reqs:-0} ${errs:-0} ${non:-0} ${mbs:-0}"
}
median() { sort -n | awk '{v[NR] = $1} END {print NR ? v[int((NR + 1) / 2)] : 0}'; }

# The reference proxy: nginx inside the sandbox's netns, keep-alive to the upstream.
NGINX=""
if command -v nginx >/dev/null; then
    mkdir -p "$WORK/nginx"
    cat >"$WORK/nginx/nginx.conf" <<EON
worker_processes 1;
daemon off;
pid $WORK/nginx/nginx.pid;
error_log $WORK/nginx/error.log;
events { worker_connections 4096; }
http {
    access_log off;
    upstream up { server 127.0.0.1:8080; keepalive 64; }
    server {
        listen 127.0.0.1:8081;
        location / { proxy_pass http://up; proxy_http_version 1.1;
                     proxy_set_header Connection ""; proxy_buffering off; }
    }
}
EON
    nsenter --net="$NETNS" nginx -c "$WORK/nginx/nginx.conf" -p "$WORK/nginx" </dev/null \
        >/dev/null 2>&1 &
    NGINX_PID=$!
    for ((i = 0; i < 50; i++)); do
        got=$(nsenter --net="$NETNS" curl -sS -m 2 "$NGINX_URL" 2>/dev/null) && break
        sleep 0.1
    done
    if [ "$got" = "Hello, world" ]; then NGINX=1; else log "nginx did not start: no reference rows"; fi
else
    log "nginx is not installed: no reference rows"
fi

ROWS="lat-direct lat-proxy tput-direct tput-proxy big-direct big-proxy up-direct up-proxy"
[ -n "$NGINX" ] && ROWS="$ROWS tput-nginx big-nginx"
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
declare -A R=()
for ((r = 1; r <= ROUNDS; r++)); do
    log "round $r/$ROUNDS: latency, small-answer throughput, 1 MiB down and up; direct, proxy${NGINX:+, nginx}; ${DUR} s each"
    run_wrk "lat-direct-$r" direct "" -t1 -c1 -d"${DUR}s"
    run_wrk "lat-proxy-$r" proxy "" -t1 -c1 -d"${DUR}s"
    run_wrk "tput-direct-$r" direct "" -t"$THREADS" -c"$CONNS" -d"${DUR}s"
    run_wrk "tput-proxy-$r" proxy "" -t"$THREADS" -c"$CONNS" -d"${DUR}s"
    [ -n "$NGINX" ] && run_wrk "tput-nginx-$r" nginx "" -t"$THREADS" -c"$CONNS" -d"${DUR}s"
    run_wrk "big-direct-$r" direct "bytes/$BIG" -t"$THREADS" -c4 -d"${DUR}s"
    run_wrk "big-proxy-$r" proxy "bytes/$BIG" -t"$THREADS" -c4 -d"${DUR}s"
    [ -n "$NGINX" ] && run_wrk "big-nginx-$r" nginx "bytes/$BIG" -t"$THREADS" -c4 -d"${DUR}s"
    run_wrk "up-direct-$r" direct "" -s "$HERE/preview-post.lua" -t"$THREADS" -c4 -d"${DUR}s"
    run_wrk "up-proxy-$r" proxy "" -s "$HERE/preview-post.lua" -t"$THREADS" -c4 -d"${DUR}s"
    for k in $ROWS; do R[$k-$r]=$(parse "$WORK/wrk-$k-$r"); done
done
# col ROW FIELD(1..7) -> the median over rounds
col() { for ((r = 1; r <= ROUNDS; r++)); do echo "${R[$1-$r]}" | awk -v c="$2" '{print $c}'; done | median; }
sumcol() { for ((r = 1; r <= ROUNDS; r++)); do echo "${R[$1-$r]}" | awk -v c="$2" '{print $c}'; done |
           awk '{s += $1} END {print s + 0}'; }
# ratio ROW-A ROW-B FIELD -> median over rounds of A/B in percent (each round's own pair)
ratio() { for ((r = 1; r <= ROUNDS; r++)); do
              paste <(echo "${R[$1-$r]}" | awk -v c="$3" '{print $c}') \
                    <(echo "${R[$2-$r]}" | awk -v c="$3" '{print $c}') |
                  awk '{printf "%.1f\n", $2 ? 100 * $1 / $2 : 0}'
          done | median; }

log "1000 concurrent keep-alive connections through the proxy, ${DUR} s"
THREADS_BEFORE=$(awk '/^Threads:/ {print $2}' /proc/$COVED_PID/status)
run_wrk c1000-proxy proxy "" -t2 -c1000 -d"${DUR}s" --timeout 10s &
WRKPID=$!
sleep $((DUR / 2))
THREADS_PEAK=$(awk '/^Threads:/ {print $2}' /proc/$COVED_PID/status)
FDS_PEAK=$(ls /proc/$COVED_PID/fd | wc -l)
wait $WRKPID
C1000=$(parse "$WORK/wrk-c1000-proxy")
SOCKERR_LINE=$(grep 'Socket errors' "$WORK/wrk-c1000-proxy" || echo "Socket errors: none")
log "1000 connections, direct (for comparison)"
run_wrk c1000-direct direct "" -t2 -c1000 -d"${DUR}s" --timeout 10s
C1000D=$(parse "$WORK/wrk-c1000-direct")

PROF=""
if [ $PROFILE = 1 ]; then
    log "profile: perf record -g on coved during a proxy throughput run"
    perf record -F 999 -g -p "$COVED_PID" -o "$WORK/perf.data" -- sleep "$DUR" >/dev/null 2>&1 &
    PERFPID=$!
    run_wrk prof-proxy proxy "" -t"$THREADS" -c"$CONNS" -d"${DUR}s"
    wait $PERFPID
    perf report -i "$WORK/perf.data" --no-children --sort dso,symbol --stdio 2>/dev/null |
        grep -v '^#' | grep -E '^ +[0-9.]+%' | head -25 >"$WORK/perf-top"
    perf report -i "$WORK/perf.data" --no-children --sort dso --stdio 2>/dev/null |
        grep -E '^ +[0-9.]+%' | head -8 >"$WORK/perf-dso"
    log "profile: strace -c -f on coved during a 5 s proxy run"
    timeout -s INT 6 strace -c -f -p "$COVED_PID" -o "$WORK/strace-c" &
    STRPID=$!
    sleep 0.5
    run_wrk strace-proxy proxy "" -t1 -c"$CONNS" -d5s
    wait $STRPID
    STRACE_REQS=$(parse "$WORK/wrk-strace-proxy" | awk '{print $4}')
    PROF=1
fi

# ---------------------------------------------------------------- report
LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg)
LD=$(col lat-direct 2) LP=$(col lat-proxy 2) LD99=$(col lat-direct 3) LP99=$(col lat-proxy 3)
TD=$(col tput-direct 1) TP=$(col tput-proxy 1) LRD=$(col lat-direct 1) LRP=$(col lat-proxy 1)
TD50=$(col tput-direct 2) TP50=$(col tput-proxy 2) TD99=$(col tput-direct 3) TP99=$(col tput-proxy 3)
ERRS=0 NON2=0
for k in $ROWS; do
    ERRS=$((ERRS + $(sumcol "$k" 5)))
    case $k in *-proxy | *-nginx) NON2=$((NON2 + $(sumcol "$k" 6))) ;; esac
done
# Ratios: the median over rounds of each round's proxy/direct (same round, same host state).
PCT=$(ratio tput-proxy tput-direct 1)
BIGD=$(col big-direct 7) BIGP=$(col big-proxy 7) BIGPCT=$(ratio big-proxy big-direct 7)
UPD=$(col up-direct 1) UPP=$(col up-proxy 1) UPPCT=$(ratio up-proxy up-direct 1) # 1 MiB each
ADDED=$(awk -v a="$LP" -v b="$LD" 'BEGIN {printf "%.2f", (a - b) / 1000}')
ms() { awk -v u="$1" 'BEGIN {printf "%.3f", u / 1000}'; }
verdict() { [ "$1" = 1 ] && echo "met" || echo "**missed**"; }
T_OK=$(awk -v p="$PCT" 'BEGIN {print (p >= 70)}')
B_OK=$(awk -v p="$BIGPCT" -v q="$UPPCT" 'BEGIN {print (p >= 70 && q >= 70)}')
L_OK=$(awk -v a="$ADDED" 'BEGIN {print (a <= 0.3)}')
read -r C_RPS C_P50 C_P99 C_REQS C_ERRS C_NON _ <<<"$C1000"
read -r CD_RPS CD_P50 CD_P99 _ <<<"$C1000D"
C_OK=$(( C_ERRS == 0 && C_NON == 0 && C_REQS > 0 ))
NGROWS="" NGNOTE="No nginx reference (nginx is not installed)."
if [ -n "$NGINX" ]; then
    NGPCT=$(ratio tput-nginx tput-direct 1) NGBPCT=$(ratio big-nginx big-direct 7)
    NGROWS="| small answers, $CONNS connections | nginx in the sandbox netns (reference) | $(col tput-nginx 1) req/s | $NGPCT% | $(ms "$(col tput-nginx 2)") ms |
| 1 MiB downloads, 4 connections | nginx in the sandbox netns (reference) | $(col big-nginx 7) MB/s | $NGBPCT% | $(ms "$(col big-nginx 2)") ms |"
    NGNOTE="Reference: nginx $(nginx -v 2>&1 | sed 's/.*nginx\///') as a keep-alive reverse proxy (one worker, proxy_buffering off) inside the sandbox's netns reaches $NGPCT% of direct for small answers and $NGBPCT% for 1 MiB downloads."
fi

cat <<EOF
### Run of $(date -u '+%Y-%m-%d %H:%M UTC'), commit $COMMIT$DIRTY, preview relay $RELAY

Host: $(nproc) CPUs ($(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo)), kernel $(uname -r),
$(wrk -v 2>&1 | head -1 | awk '{print $1, $2}'). Command: \`bench/preview.sh $ARGS_ORIG\` (wrk rows ${DUR} s each,
median of $ROUNDS interleaved rounds; a ratio is the median of the rounds' own ratios). Upstream:
\`bench/preview-upstream.c\` (one-thread epoll, keep-alive; 13-byte answers, \`/bytes/N\` for N
bytes, request bodies dropped) in a sandbox with \`cpu: 2\`; wrk, coved and the upstream share the host's CPUs.
Load average (1, 5, 15 min) at the start of the wrk rows: $LOAD_START; at the end: $LOAD_END.

| row | path | rate | vs direct | p50 |
|---|---|---:|---:|---:|
| latency, 1 connection | direct (nsenter into the sandbox netns) | $LRD req/s | | $(ms "$LD") ms |
| latency, 1 connection | preview proxy | $LRP req/s | $(ratio lat-proxy lat-direct 1)% | $(ms "$LP") ms |
| small answers, $CONNS connections | direct | $TD req/s | | $(ms "$TD50") ms |
| small answers, $CONNS connections | preview proxy | $TP req/s | $PCT% | $(ms "$TP50") ms |
| 1 MiB downloads, 4 connections | direct | $BIGD MB/s | | $(ms "$(col big-direct 2)") ms |
| 1 MiB downloads, 4 connections | preview proxy | $BIGP MB/s | $BIGPCT% | $(ms "$(col big-proxy 2)") ms |
| 1 MiB uploads, 4 connections | direct | $UPD MB/s | | $(ms "$(col up-direct 2)") ms |
| 1 MiB uploads, 4 connections | preview proxy | $UPP MB/s | $UPPCT% | $(ms "$(col up-proxy 2)") ms |
${NGROWS:+$NGROWS
}| 1000 connections, 2 wrk threads | direct | $CD_RPS req/s | | $(ms "$CD_P50") ms |
| 1000 connections, 2 wrk threads | preview proxy | $C_RPS req/s | | $(ms "$C_P50") ms |

p99: latency row $(ms "$LD99") ms direct, $(ms "$LP99") ms proxy; small answers $(ms "$TD99") ms
direct, $(ms "$TP99") ms proxy; 1000 connections $(ms "$CD_P99") ms direct, $(ms "$C_P99") ms proxy.

| target | result | |
|---|---|---|
| throughput ≥ 70% of direct, small answers | $PCT% ($TP vs $TD req/s) | $(verdict "$T_OK") |
| throughput ≥ 70% of direct, 1 MiB bodies | down $BIGPCT% ($BIGP vs $BIGD MB/s), up $UPPCT% ($UPP vs $UPD MB/s) | $(verdict "$B_OK") |
| p50 added latency ≤ 0.3 ms (1 connection) | $ADDED ms ($(ms "$LP") vs $(ms "$LD") ms) | $(verdict "$L_OK") |
| 1000 keep-alive connections, no errors | $C_REQS requests, socket errors $C_ERRS, non-2xx $C_NON ($SOCKERR_LINE); coved peak $THREADS_PEAK threads (from $THREADS_BEFORE), $FDS_PEAK fds | $(verdict "$C_OK") |

Errors in rows 1-4: socket errors $ERRS, non-2xx through a proxy $NON2. $NGNOTE
EOF
if [ -n "$PROF" ]; then
    echo
    echo "Where coved's CPU goes through the proxy ($CONNS connections; perf record -g, self time):"
    echo
    echo '```'
    cat "$WORK/perf-dso"
    echo
    cat "$WORK/perf-top"
    echo '```'
    echo
    echo "coved syscalls during a 5 s proxy run of $STRACE_REQS requests (strace -c -f, top 15):"
    echo
    echo '```'
    sed -n '1,17p' "$WORK/strace-c"
    echo '```'
fi
