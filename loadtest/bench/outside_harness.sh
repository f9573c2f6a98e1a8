#!/usr/bin/env bash
# The outside harness for the proxy's and the Redis store's goals: their figures measured without any project code
# imported (wrk, nginx, redis-server, and the project's own `python -m balancer` / `python -m nodes` as processes).
#
#   loadtest/bench/outside_harness.sh                      # 3 alternated runs of 5 s, Redis on the node's CPU
#   REDIS_CPU=own RUNS=3 SECONDS_PER_RUN=5 loadtest/bench/outside_harness.sh
#   ROWS="cookie-read redis-read cookie-write redis-write" loadtest/bench/outside_harness.sh   # some rows only
#
# Placement: wrk on the first CPU, every server on the second; REDIS_CPU=own puts redis-server on a CPU of its own
# (the third, or with 2 CPUs the load generator's). Rows alternate A/B/A/B (every other run reversed); the table
# gives each run's ratio, the median and the issue's goal. CPU µs per request comes from /proc/PID/stat of the
# server processes (the proxy; for a store row the node plus redis-server). Needs Linux, wrk, nginx, redis-server,
# taskset, and PYTHON (default: python3) able to run `-m balancer` and `-m nodes` from this checkout. The balancer
# runs its compiled data path where `sessionlab build-balancer` has built one (it prints which);
# BALANCER_DATA_PATH=interpreted runs the source.
set -euo pipefail

RUNS=${RUNS:-3}
SECONDS_PER_RUN=${SECONDS_PER_RUN:-5}
CONNECTIONS=${CONNECTIONS:-50}
REDIS_CPU=${REDIS_CPU:-node}
PY=${PYTHON:-python3}
NGINX=${NGINX:-$(command -v nginx || echo /usr/sbin/nginx)}
REDIS_SERVER=${REDIS_SERVER:-$(command -v redis-server || echo /usr/bin/redis-server)}
FERNET_KEY="bXjqGK8h0i7JYcYPz3s2f9JjOqQ9v2bqzq1k8v1o4nY="
ROOT=$(cd "$(dirname "$0")/../.." && pwd)

cpus=($(taskset -pc $$ | sed 's/.*: //' | tr ',' '\n' | while IFS=- read -r a b; do seq "$a" "${b:-$a}"; done))
if [ "${#cpus[@]}" -lt 2 ]; then echo "needs at least 2 CPUs" >&2; exit 2; fi
LOAD_CPU=${cpus[0]}
SERVER_CPU=${cpus[1]}
if [ "$REDIS_CPU" = own ]; then REDIS_ON=${cpus[2]:-${cpus[0]}}; else REDIS_ON=$SERVER_CPU; fi

work=$(mktemp -d)
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

free_port() { "$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# start NAME CPU ENV... -- ARGV...: a server pinned to CPU from its first instruction; its pid in $work/NAME.pid
start() {
    local name=$1 cpu=$2
    shift 2
    local envs=()
    while [ "$1" != "--" ]; do envs+=("$1"); shift; done
    shift
    (cd "$ROOT" && exec env "${envs[@]}" taskset -c "$cpu" "$@" >"$work/$name.log" 2>&1) &
    pids+=($!)
    echo $! >"$work/$name.pid"
}

wait_200() {
    for _ in $(seq 150); do
        [ "$(curl -s -o /dev/null -w '%{http_code}' "$1")" = 200 ] && return 0
        sleep 0.2
    done
    echo "no 200 from $1" >&2
    exit 1
}

node() {  # node NAME PORT STORE [REDIS_URL]
    start "$1" "$SERVER_CPU" NODE_PORT="$2" NODE_ID="$1" SESSION_STORE="$3" SESSION_SECRET="$FERNET_KEY" \
        NODE_ACCESS_LOG=0 REDIS_URL="${4:-redis://127.0.0.1:6379/0}" -- "$PY" -m nodes
}

balancer() {  # balancer NAME PORT MODE
    start "$1" "$SERVER_CPU" BALANCER_PORT="$2" BALANCER_ROUTING="$3" BALANCER_LOG_LEVEL=WARNING \
        BALANCER_UPSTREAMS="http://127.0.0.1:$N0,http://127.0.0.1:$N1" BALANCER_ROUTE_SECRET="outside-harness-$RANDOM-secret" \
        -- "$PY" -m balancer
}

N0=$(free_port); N1=$(free_port); NG=$(free_port); RP=$(free_port); NC=$(free_port); NR=$(free_port)
node node-0 "$N0" memory
node node-1 "$N1" memory
start redis "$REDIS_ON" -- "$REDIS_SERVER" --port "$RP" --bind 127.0.0.1 --save "" --appendonly no
node node-cookie "$NC" cookie
node node-redis "$NR" redis "redis://127.0.0.1:$RP/0"
declare -A BP
for mode in round_robin random sticky hash; do
    BP[$mode]=$(free_port)
    balancer "balancer-$mode" "${BP[$mode]}" "$mode"
done
mkdir -p "$work/nginx"
cat >"$work/nginx/nginx.conf" <<EOF
master_process off;
daemon off;
worker_processes 1;
pid $work/nginx/nginx.pid;
error_log $work/nginx/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  keepalive_requests 1000000;
  client_body_temp_path $work/nginx/body;
  proxy_temp_path $work/nginx/proxy;
  fastcgi_temp_path $work/nginx/fastcgi;
  uwsgi_temp_path $work/nginx/uwsgi;
  scgi_temp_path $work/nginx/scgi;
  upstream nodes {
    server 127.0.0.1:$N0;
    server 127.0.0.1:$N1;
    keepalive 128;
    keepalive_requests 1000000;
  }
  server {
    listen 127.0.0.1:$NG;
    location / {
      proxy_pass http://nodes;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host \$http_host;
      proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;
      proxy_set_header X-Forwarded-Proto \$scheme;
      proxy_set_header X-Forwarded-Host \$http_host;
    }
  }
}
EOF
start nginx "$SERVER_CPU" -- "$NGINX" -p "$work/nginx" -e "$work/nginx/error.log" -c "$work/nginx/nginx.conf"

for port in "$N0" "$N1" "$NC" "$NR"; do wait_200 "http://127.0.0.1:$port/readyz"; done
for port in "$NG" "${BP[@]}"; do wait_200 "http://127.0.0.1:$port/healthz"; done
# compiled (its mypyc build: sessionlab build-balancer) or interpreted, as the balancer's own status says
echo "balancer data path: $(curl -s "http://127.0.0.1:${BP[random]}/_balancer/status" | "$PY" -c 'import json, sys; print(json.load(sys.stdin)["data_path"])')" >&2

# Cookies: 50 logins per store node; for the proxies, 50 session ids, each with the affinity cookie a first request
# through that proxy sets (sticky mode).
logins() {  # logins PORT PREFIX -> one Cookie header value per line
    for i in $(seq "$CONNECTIONS"); do
        curl -s -o /dev/null -D - -H 'Content-Type: application/json' -d "{\"user\": \"$2-$i\"}" \
            "http://127.0.0.1:$1/login" | tr -d '\r' | sed -n 's/^[Ss]et-[Cc]ookie: \([^;]*\).*/\1/p' | paste -sd';' | sed 's/;/; /g'
    done
}
browsers() {  # browsers PORT -> one Cookie header value per line
    for i in $(seq "$CONNECTIONS"); do
        local jar
        jar="SL_SESSION=bench$(printf '%04d' "$i")xxxxxxxxxxxxxxxxxxxxxxxx"
        local set
        set=$(curl -s -o /dev/null -D - -H "Cookie: $jar" "http://127.0.0.1:$1/healthz" | tr -d '\r' |
            sed -n 's/^[Ss]et-[Cc]ookie: \([^;]*\).*/\1/p' | paste -sd';' | sed 's/;/; /g')
        echo "$jar${set:+; $set}"
    done
}
lua() {  # lua FILE METHOD PATH BODY < cookies
    {
        echo "local cookies = {"
        while IFS= read -r cookie; do printf '  "%s",\n' "${cookie//\"/\\\"}"; done  # a quoted value keeps its quotes
        echo "}"
        cat <<EOF
local method, path, body = "$2", "$3", ${4:-nil}
local requests, i = {}, 0
init = function(args)
  for n, cookie in ipairs(cookies) do
    local headers = {Cookie = cookie}
    if body then headers["Content-Type"] = "application/json" end
    requests[n] = wrk.format(method, path, headers, body)
  end
end
request = function()
  i = i % #requests + 1
  return requests[i]
end
EOF
    } >"$1"
}

declare -A URL SCRIPT CPUPIDS REMAKE MADE
row() {  # row NAME PORT METHOD PATH BODY COOKIES_FILE PIDS...
    local name=$1 port=$2 method=$3 path=$4 body=$5 cookies=$6
    shift 6
    URL[$name]="http://127.0.0.1:$port$path"
    SCRIPT[$name]="$work/$name.lua"
    lua "${SCRIPT[$name]}" "$method" "$path" "$body" <"$cookies"
    CPUPIDS[$name]="$*"
}
# wrk replays the login's cookies and never takes a re-issued one, as a browser would: a cookie-store session older
# than its re-issue age (a minute by default) is re-encrypted and re-sent on every request. A store row's sessions
# are made again before a run once they are 30 s old, so every run measures what a browser's requests cost.
fresh() {  # fresh NAME: new logins for a store row whose sessions are 30 s old or more
    [ -n "${REMAKE[$1]:-}" ] || return 0
    [ $((SECONDS - ${MADE[$1]:-0})) -ge 30 ] || return 0
    local port method path body
    read -r port method path body <<<"${REMAKE[$1]}"
    [ "$body" = - ] && body=""
    logins "$port" "$1-$SECONDS" >"$work/l-$1"
    lua "${SCRIPT[$1]}" "$method" "$path" "$body" <"$work/l-$1"
    MADE[$1]=$SECONDS
}
browsers "$NG" >"$work/c-nginx"
row nginx "$NG" GET /healthz "" "$work/c-nginx" "$(cat "$work/nginx.pid")"
for mode in round_robin random sticky hash; do
    browsers "${BP[$mode]}" >"$work/c-$mode"
    row "balancer-$mode" "${BP[$mode]}" GET /healthz "" "$work/c-$mode" "$(cat "$work/balancer-$mode.pid")"
done
for store in cookie redis; do
    if [ "$store" = cookie ]; then port=$NC; else port=$NR; fi
    logins "$port" "$store" >"$work/l-$store"
    pidlist="$(cat "$work/node-$store.pid") $(cat "$work/redis.pid")"
    row "$store-read" "$port" GET /me "" "$work/l-$store" $pidlist
    row "$store-write" "$port" POST /counter '"{}"' "$work/l-$store" $pidlist
    REMAKE[$store-read]="$port GET /me -"
    REMAKE[$store-write]="$port POST /counter \"{}\""
    MADE[$store-read]=$SECONDS
    MADE[$store-write]=$SECONDS
done

cpu_ticks() {  # user+system clock ticks of these pids and their children
    local total=0 pid child
    for pid in "$@"; do
        for child in $pid $(pgrep -P "$pid" || true); do
            [ -r "/proc/$child/stat" ] || continue
            total=$((total + $(awk '{print $14 + $15}' "/proc/$child/stat")))
        done
    done
    echo "$total"
}
HZ=$(getconf CLK_TCK)
ROWS=(${ROWS:-nginx balancer-round_robin balancer-random balancer-sticky balancer-hash cookie-read redis-read cookie-write redis-write})
results="$work/results"
: >"$results"
for run in $(seq "$RUNS"); do
    order=("${ROWS[@]}")
    if [ $((run % 2)) = 0 ]; then order=($(printf '%s\n' "${ROWS[@]}" | tac)); fi
    for name in "${order[@]}"; do
        fresh "$name"
        before=$(cpu_ticks ${CPUPIDS[$name]})
        out=$(taskset -c "$LOAD_CPU" wrk -t1 -c"$CONNECTIONS" -d"${SECONDS_PER_RUN}s" --latency -s "${SCRIPT[$name]}" "${URL[$name]}")
        after=$(cpu_ticks ${CPUPIDS[$name]})
        requests=$(echo "$out" | sed -n 's/^ *\([0-9]*\) requests in.*/\1/p')
        rps=$(echo "$out" | sed -n 's/^Requests\/sec: *\([0-9.]*\).*/\1/p')
        p99=$(echo "$out" | awk '$1 == "99%" {print $2}')
        us=$("$PY" -c "print(round(($after - $before) / $HZ * 1e6 / max($requests, 1), 1))")
        echo "$run $name $rps $us $p99" >>"$results"
        printf 'run %s  %-22s %9.0f req/s  %6s CPU µs/req  p99 %s\n' "$run" "$name" "$rps" "$us" "$p99" >&2
    done
done

"$PY" - "$results" "$REDIS_CPU" <<'EOF'
import statistics, sys
runs = {}
for line in open(sys.argv[1]):
    run, name, rps, us, _ = line.split()
    runs.setdefault(name, {})[int(run)] = (float(rps), float(us))
def ratio(a, b, index=0):
    if a not in runs or b not in runs:
        return []
    return [runs[a][r][index] / runs[b][r][index] for r in sorted(runs[a]) if r in runs[b]]
figures = [
    ("our balancer (round robin) ÷ nginx, req/s", ratio("balancer-round_robin", "nginx"), ">=", 0.85),
    ("sticky ÷ random, req/s", ratio("balancer-sticky", "balancer-random"), ">=", 0.95),
    (f"redis-store ÷ cookie-store, reads, req/s (Redis on {sys.argv[2]} CPU)", ratio("redis-read", "cookie-read"), ">=", 1.0),
    (f"same, writes", ratio("redis-write", "cookie-write"), ">=", 0.85),
]
for mode in ("round_robin", "random", "sticky", "hash"):
    figures.append((f"balancer {mode} CPU µs/req ÷ nginx's", ratio(f"balancer-{mode}", "nginx", 1), "<=", 1.5))
count = max(len(by_run) for by_run in runs.values())
print(f"\n| figure | {' | '.join(f'run {r + 1}' for r in range(count))} | median | goal | met |")
print("|---|" + "---:|" * (count + 3))
for text, values, op, goal in figures:
    if not values:
        continue
    median = statistics.median(values)
    met = median >= goal if op == ">=" else median <= goal
    print(f"| {text} | {' | '.join(f'{v:.2f}' for v in values)} | {median:.2f} | {op.replace('>=', '≥ ').replace('<=', '≤ ')}{goal} | {'met' if met else 'NOT met'} |")
print("\n| row | req/s (median) | CPU µs/req (median) |\n|---|---:|---:|")
for name, by_run in runs.items():
    print(f"| {name} | {statistics.median(v[0] for v in by_run.values()):,.0f} | {statistics.median(v[1] for v in by_run.values()):.1f} |")
EOF
