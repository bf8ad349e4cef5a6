#!/usr/bin/env bash
# Issue 15, "a million children": how big and how slow the CLI and the agent are with 1,000,000
# keys in a SQLite store (and, with POSTGRES_PORT set, in a PostgreSQL store too).
#
#   Benchmarks/store-scale.sh BINARY [ROWS]
#
# For the SQLite store: fills a new store with ROWS keys (default 1,000,000; SQL straight into the
# file, children c0.parent. …), then runs `BINARY keys list` (all rows, to /dev/null) and
# `keys list --limit 10`, `audit --limit 10`, and `serve` for a few seconds, and prints for each
# the wall time and the maximum resident set size (GNU time). Run it with an older binary to
# compare (the store is made anew per run, by the binary itself).
#
# With POSTGRES_PORT=P (a server on 127.0.0.1:P that user delegsync may use, e.g. from
# Tests/TestSupport PostgresLab or `pg_ctl` by hand) the same for a PostgreSQL store, filled with
# `keys import --from` (batched transactions) — which is measured as well.
# Loopback only; nothing is left running.
set -euo pipefail
binary=$(readlink -f "$1")
rows=${2:-1000000}
work=$(mktemp -d /tmp/delegsync-scale-XXXXXX)
serve_pid=""
cleanup() {
    [ -n "$serve_pid" ] && kill "$serve_pid" 2>/dev/null && wait "$serve_pid" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

config() { # store-line port
    cat <<EOF
version: 1
listen: [{ address: 127.0.0.1, port: $2 }]
store: $1
log-level: warning
zones:
  - name: parent.
    primary: { address: 127.0.0.1, port: 9 }
    backend: { type: script, output: /dev/null }
EOF
}

measure() { # label command…
    local label=$1
    shift
    if ! /usr/bin/time -f "%e %M" -o "$work/time" "$@" >/dev/null 2>"$work/stderr"; then
        printf '%-44s failed: %s\n' "$label" "$(grep -v 'Command exited' "$work/stderr" | head -1)"
        return 0
    fi
    read -r seconds kilobytes <"$work/time"
    printf '%-44s %8.2f s %8.1f MB\n' "$label" "$seconds" "$(echo "$kilobytes / 1024" | bc -l)"
}

serve_rss() { # label config port
    "$binary" serve --config "$2" 2>"$work/serve.log" &
    serve_pid=$!
    for _ in $(seq 1 100); do
        dig +tcp +tries=1 +time=1 -p "$3" @127.0.0.1 parent. SOA >/dev/null 2>&1 && break
        sleep 0.1
    done
    # A burst of queries (each decided and audited), then the resident set.
    for _ in $(seq 1 200); do dig +tcp +tries=1 +time=1 -p "$3" @127.0.0.1 "c$RANDOM.parent." KEY >/dev/null 2>&1 || true; done
    sleep 3
    printf '%-44s %8s   %8.1f MB\n' "$1" "" "$(echo "$(awk '/VmRSS/ {print $2}' /proc/$serve_pid/status) / 1024" | bc -l)"
    kill "$serve_pid"
    wait "$serve_pid" 2>/dev/null || true
    serve_pid=""
}

echo "delegsync store scale: $rows keys, $("$binary" version 2>/dev/null | head -1)"

# SQLite: the binary makes the schema; the rows go in with SQL (fast, and the same for any
# version of the schema since v3).
config "{ path: $work/state.sqlite }" 15489 >"$work/sqlite.yaml"
"$binary" keys list --config "$work/sqlite.yaml" >/dev/null
start=$(date +%s.%N)
sqlite3 "$work/state.sqlite" <<EOF
PRAGMA journal_mode = WAL;
WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i + 1 < $rows)
INSERT INTO keys (zone, child, key_tag, algorithm, rdata, digest, state, added_at, origin)
SELECT 'parent.', 'c' || i || '.parent.', i % 65536, 15, randomblob(36), randomblob(32), 'trusted', 1700000000 + i, 'import' FROM n;
EOF
printf '%-44s %8.2f s\n' "sqlite: fill (SQL)" "$(echo "$(date +%s.%N) - $start" | bc -l)"
measure "sqlite: keys list (all $rows)" "$binary" keys list --config "$work/sqlite.yaml"
measure "sqlite: keys list --limit 10" "$binary" keys list --config "$work/sqlite.yaml" --limit 10
measure "sqlite: keys list --child c999.parent." "$binary" keys list --config "$work/sqlite.yaml" --child c999.parent.
measure "sqlite: audit --limit 10" "$binary" audit --config "$work/sqlite.yaml" --limit 10
serve_rss "sqlite: serve, RSS after 200 queries" "$work/sqlite.yaml" 15489

if [ -n "${POSTGRES_PORT:-}" ]; then
    database="scale$$"
    createdb -h 127.0.0.1 -p "$POSTGRES_PORT" -U delegsync "$database"
    url="postgres://delegsync@127.0.0.1:$POSTGRES_PORT/$database"
    config "{ type: postgresql, url: $url }" 15488 >"$work/pg.yaml"
    # Valid Ed25519 public keys are any 32 octets to OpenSSL: one KEY record per line.
    python3 - "$rows" >"$work/keys.txt" <<'EOF'
import base64, os, sys
out = sys.stdout
for i in range(int(sys.argv[1])):
    out.write(f"c{i}.parent. 3600 IN KEY 512 3 15 {base64.b64encode(os.urandom(32)).decode()}\n")
EOF
    measure "postgresql: keys import --from ($rows)" "$binary" keys import --config "$work/pg.yaml" --from "$work/keys.txt" --trusted
    measure "postgresql: keys list (all $rows)" "$binary" keys list --config "$work/pg.yaml"
    measure "postgresql: keys list --limit 10" "$binary" keys list --config "$work/pg.yaml" --limit 10
    measure "postgresql: audit --limit 10" "$binary" audit --config "$work/pg.yaml" --limit 10
    serve_rss "postgresql: serve, RSS after 200 queries" "$work/pg.yaml" 15488
    dropdb -h 127.0.0.1 -p "$POSTGRES_PORT" -U delegsync "$database"
fi
