#!/usr/bin/env bash
# Redraws docs/performance.svg: loopback throughput of one list call (an owner's ten tokens,
# testdata/fixtures/ten-pats.yaml) from iscmock, a bare net/http server answering the same bytes,
# and, where they can run here, WireMock and Prism serving the same answer as a static stub. Each
# server is its own process; wrk drives it with 32 connections; rounds alternate between servers
# after a 10 s warm-up each, and the chart shows each server's mean rate. Run by hand, not in CI:
#
#   docs/performance.sh [SECONDS_PER_ROUND] [ROUNDS]      # default 5 and 3
#
# Needs Go, wrk (apt-get install wrk), and for the peers npm and Java 11 or later; a peer that cannot
# run is left out of the chart, and the script says why.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-5}
rounds=${2:-3}
connections=32
wiremock_version=3.13.2
prism_version=5.16.0
owner=2c9180867b50d088017b554662fb4a10 # the owner of testdata/fixtures/ten-pats.yaml
path="/v3/personal-access-tokens?owner-id=me"

tmp=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT

command -v wrk >/dev/null || { echo "wrk is needed: apt-get install wrk" >&2; exit 1; }

# Two helpers, in Go like the rest: a free port, and a file's text as a JSON string.
cat >"$tmp/port.go" <<'GO'
package main

import (
	"fmt"
	"net"
)

func main() {
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	defer l.Close()
	fmt.Println(l.Addr().(*net.TCPAddr).Port)
}
GO
cat >"$tmp/quote.go" <<'GO'
package main

import (
	"encoding/json"
	"os"
)

func main() {
	b, _ := os.ReadFile(os.Args[1])
	s, _ := json.Marshal(string(b))
	os.Stdout.Write(s)
}
GO
(cd "$tmp" && go build -o port port.go && go build -o quote quote.go)
free_port() { "$tmp/port"; } # a port the kernel just handed out and took back

wait_for() { # URL [HEADER]: until it answers 200, 60 s at most
  for _ in $(seq 300); do
    if curl -fsS -o /dev/null ${2:+-H "$2"} "$1" 2>/dev/null; then return 0; fi
    sleep 0.2
  done
  echo "no answer from $1" >&2
  return 1
}

echo "== building iscmock and the bare server"
go build -o "$tmp/iscmock" ./cmd/iscmock
go test -c -o "$tmp/e2e.test" ./e2e

names=() urls=() tokens=()
add() { names+=("$1"); urls+=("$2"); tokens+=("${3:-}"); }

echo "== iscmock"
port=$(free_port)
"$tmp/iscmock" serve --addr "127.0.0.1:$port" --fixtures testdata/fixtures/ten-pats.yaml >/dev/null 2>&1 &
pids+=($!)
base="http://127.0.0.1:$port"
wait_for "$base/__admin/health"
token=$(curl -fsS -X POST "$base/__admin/tokens" -d "{\"identityId\":\"$owner\"}" | sed 's/.*"access_token":"\([^"]*\)".*/\1/')
add iscmock "$base$path" "$token"
curl -fsS -D "$tmp/headers" -o "$tmp/body.json" -H "Authorization: Bearer $token" "$base$path"
# The headers every answer carries, as JSON, for the bare server and the stubs.
headers_json=$(grep -iE '^(content-type|cache-control|vary|access-control-expose-headers|x-robots-tag|slpt-request-id):' "$tmp/headers" |
  tr -d '\r' | sed 's/^\([^:]*\): \(.*\)$/"\1":"\2"/' | paste -sd, -)

echo "== bare net/http"
# The e2e test binary serves as the bare server, as in the loopback load test: it prints its URL,
# then answers every request with the given headers and body until killed.
ISCMOCK_BARE_SERVE=1 ISCMOCK_BARE_HEADERS="{$(echo "$headers_json" | sed 's/:"\([^"]*\)"/:["\1"]/g')}" \
  ISCMOCK_BARE_BODY="$(cat "$tmp/body.json")" "$tmp/e2e.test" >"$tmp/bare.url" &
pids+=($!)
for _ in $(seq 100); do [ -s "$tmp/bare.url" ] && break; sleep 0.1; done
bare_url=$(head -n1 "$tmp/bare.url")
wait_for "$bare_url$path"
add "net/http (bare)" "$bare_url$path"

peers=()
if command -v npm >/dev/null && command -v node >/dev/null; then
  echo "== installing WireMock $wiremock_version and Prism $prism_version from npm"
  if npm install --no-audit --no-fund --silent --prefix "$tmp/npm" "wiremock@$wiremock_version" "@stoplight/prism-cli@$prism_version" >/dev/null 2>&1; then
    peers=(wiremock prism)
  else
    echo "npm install failed: WireMock and Prism left out" >&2
  fi
else
  echo "no npm: WireMock and Prism left out" >&2
fi

for peer in "${peers[@]}"; do
  port=$(free_port)
  case $peer in
  wiremock)
    jar=$(find "$tmp/npm/node_modules/wiremock" -name 'wiremock-standalone-*.jar' | head -n1)
    if ! java -version >/dev/null 2>&1 || [ -z "$jar" ]; then
      echo "no Java or no WireMock jar: WireMock left out" >&2
      continue
    fi
    mkdir -p "$tmp/wm/mappings"
    body=$("$tmp/quote" "$tmp/body.json")
    printf '{"request":{"method":"GET","urlPath":"/v3/personal-access-tokens","queryParameters":{"owner-id":{"equalTo":"me"}}},"response":{"status":200,"headers":{%s},"body":%s}}\n' \
      "$headers_json" "$body" >"$tmp/wm/mappings/list.json"
    # The request journal off, as its docs advise under load; otherwise WireMock as it comes.
    java -jar "$jar" --port "$port" --bind-address 127.0.0.1 --root-dir "$tmp/wm" --no-request-journal --disable-banner >/dev/null 2>&1 &
    pids+=($!)
    wait_for "http://127.0.0.1:$port$path"
    add "WireMock $wiremock_version" "http://127.0.0.1:$port$path"
    ;;
  prism)
    # An OpenAPI document whose only example is the list.
    printf '{"openapi":"3.0.3","info":{"title":"list","version":"1"},"paths":{"/v3/personal-access-tokens":{"get":{"parameters":[{"name":"owner-id","in":"query","schema":{"type":"string"}}],"responses":{"200":{"description":"ok","content":{"application/json":{"example":%s}}}}}}}}\n' \
      "$(cat "$tmp/body.json")" >"$tmp/prism.json"
    "$tmp/npm/node_modules/.bin/prism" mock --host 127.0.0.1 --port "$port" "$tmp/prism.json" >/dev/null 2>&1 &
    pids+=($!)
    wait_for "http://127.0.0.1:$port$path"
    add "Prism $prism_version" "http://127.0.0.1:$port$path"
    ;;
  esac
done

run_wrk() { # INDEX SECONDS: prints requests per second, or fails on errors
  local i=$1 d=$2 out
  out=$(wrk -t2 -c"$connections" -d"${d}s" ${tokens[$i]:+-H "Authorization: Bearer ${tokens[$i]}"} "${urls[$i]}")
  if grep -qE 'Non-2xx|Socket errors' <<<"$out"; then
    echo "${names[$i]}: errors under load:" >&2
    echo "$out" >&2
  fi
  awk '/^Requests\/sec:/ {print $2}' <<<"$out"
}

echo "== warm-up, then $rounds alternated rounds of ${seconds}s, $connections connections"
declare -A total
for i in "${!names[@]}"; do run_wrk "$i" 10 >/dev/null; total[$i]=0; done # 10 s: the JVM compiles its hot paths
for r in $(seq "$rounds"); do
  for i in "${!names[@]}"; do
    rate=$(run_wrk "$i" "$seconds")
    printf '  round %d  %-22s %10.0f req/s\n' "$r" "${names[$i]}" "$rate"
    total[$i]=$(awk -v a="${total[$i]}" -v b="$rate" 'BEGIN {print a + b}')
  done
done

# The machine and the versions, as the chart states them.
cpu=$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)
mem=$(awk '/^MemTotal/ {printf "%.0f GiB", $2 / 1048576}' /proc/meminfo)
machine="$(nproc) CPUs ($cpu), $mem, $(uname -sr), $(date -u +%Y-%m-%d)"
versions="iscmock $(git describe --always --dirty), $(go version | awk '{print $3}'), $({ wrk -v 2>&1 || true; } | awk 'NR==1 {print $1, $2}')"
if [[ " ${peers[*]} " == *" wiremock "* ]]; then versions+=", Java $(java -version 2>&1 | awk -F'"' 'NR==1 {print $2}')"; fi
if [[ " ${peers[*]} " == *" prism "* ]]; then versions+=", Node $(node --version)"; fi

echo "== docs/performance.svg"
{
  for i in "${!names[@]}"; do
    printf '%s\t%s\n' "${names[$i]}" "$(awk -v t="${total[$i]}" -v n="$rounds" 'BEGIN {print t / n}')"
  done
} | awk -F'\t' -v machine="$machine" -v versions="$versions" -v conns="$connections" -v secs="$seconds" -v rounds="$rounds" -v bytes="$(wc -c <"$tmp/body.json")" '
function esc(s) { gsub(/&/, "\\&amp;", s); gsub(/</, "\\&lt;", s); gsub(/>/, "\\&gt;", s); return s }
{ name[NR] = $1; rate[NR] = $2; if ($2 > top) top = $2; if ($1 ~ /^net\/http/) bare = $2 }
END {
  n = NR; w = 760; left = 170; barw = 440; rowh = 34; top0 = 58; h = top0 + n * rowh + 62
  printf "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" font-family=\"sans-serif\" font-size=\"13\">\n", w, h, w, h
  printf "<rect width=\"100%%\" height=\"100%%\" fill=\"#fff\"/>\n"
  printf "<text x=\"16\" y=\"24\" font-size=\"15\" font-weight=\"bold\">Requests per second: GET one owner%ss ten tokens (%d-byte JSON list)</text>\n", "\047", bytes
  printf "<text x=\"16\" y=\"44\" fill=\"#555\">wrk, %d connections over loopback, each server its own process; mean of %d alternated %d s rounds</text>\n", conns, rounds, secs
  for (i = 1; i <= n; i++) {
    y = top0 + (i - 1) * rowh
    len = (top > 0) ? rate[i] / top * barw : 0
    fill = (name[i] == "iscmock") ? "#2b6cb0" : ((name[i] ~ /^net\/http/) ? "#718096" : "#dd6b20")
    printf "<text x=\"%d\" y=\"%d\" text-anchor=\"end\">%s</text>\n", left - 8, y + 18, esc(name[i])
    printf "<rect x=\"%d\" y=\"%d\" width=\"%.1f\" height=\"22\" fill=\"%s\"/>\n", left, y + 4, len, fill
    label = sprintf("%.0f", rate[i])
    if (bare > 0) label = label sprintf("  (%.2f%s bare)", rate[i] / bare, "\303\227")
    printf "<text x=\"%.1f\" y=\"%d\">%s</text>\n", left + len + 6, y + 20, label
  }
  printf "<text x=\"16\" y=\"%d\" fill=\"#555\" font-size=\"11\">%s</text>\n", h - 30, esc(machine)
  printf "<text x=\"16\" y=\"%d\" fill=\"#555\" font-size=\"11\">%s</text>\n", h - 12, esc(versions)
  printf "</svg>\n"
}' >docs/performance.svg
echo "wrote docs/performance.svg"
