#!/bin/bash
# The mock's app on three ASGI servers: GET /account/organization at 10 connections,
# 5 s per run, the servers taking turns, 2 rounds. Granian and Hypercorn go into a venv
# of their own under benchmarks/.tools (git-ignored); needs wrk.
#   bash benchmarks/servers.sh
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=benchmarks/.tools/servers-venv
PORT=${PORT:-18801}
if [ ! -x "$VENV/bin/granian" ]; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q -e . 'granian>=2.8,<3' 'hypercorn>=0.18,<1'
fi
start() {
  case $1 in
    uvicorn) "$VENV/bin/mock-server" --port "$PORT" ;;
    granian) "$VENV/bin/granian" --interface asgi --factory --host 127.0.0.1 --port "$PORT" --loop uvloop \
               --http 1 --log-level warning --no-access-log mock_server.app:create_app ;;
    hypercorn) "$VENV/bin/hypercorn" --bind "127.0.0.1:$PORT" --worker-class uvloop --log-level warning \
               'mock_server.app:create_app()' ;;
  esac
}
URL="http://127.0.0.1:$PORT/account/organization"
AUTH='Authorization: Bearer sk_test_paid_org'
for round in 1 2; do
  for server in uvicorn granian hypercorn; do
    start "$server" > "benchmarks/.tools/$server.log" 2>&1 &
    pid=$!
    for _ in $(seq 50); do curl -sf -o /dev/null -H "$AUTH" "$URL" && break; sleep 0.2; done
    wrk -t1 -c10 -d2s -H "$AUTH" "$URL" > /dev/null
    echo "round $round $server: $(wrk -t1 -c10 -d5s -H "$AUTH" "$URL" | grep -E 'Requests/sec|Non-2xx' | tr -s ' ')"
    kill "$pid"; wait "$pid" 2>/dev/null || true
  done
done
