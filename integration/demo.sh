#!/usr/bin/env bash
# The whole life cycle on this machine only (loopback, no other traffic): BIND 9 serves the
# parent zone, NSD the child zone; `delegsync serve` (embedded SQLite store) is the parent's
# agent, found by the child through the parent's DSYNC record. The child makes a key, publishes
# it, bootstraps it (the agent asks every child nameserver, round after round), then changes its
# NS set, glue and DNSSEC key; `delegsync child watch`, woken by NSD's NOTIFY, brings the parent
# in step; then the key is rolled. Every step is printed; the delegation is read with dig.
# Everything it starts it stops, also on failure and on Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=$PWD/.build/debug/delegsync
work=$(mktemp -d /tmp/delegsync-demo.XXXXXX)
parent_ip=127.0.0.231 child_ip=127.0.0.232 child2_ip=127.0.0.233
pids=() aliases=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
    for ip in "${aliases[@]}"; do ip addr del "$ip/32" dev lo 2>/dev/null || true; done
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

step() { printf '\n== %s\n' "$*"; }
run() { printf '$ %s\n' "$*" | sed "s|$work/||g; s|$bin|delegsync|"; "$@"; }
delegation() {
    echo "the parent serves:"
    dig +norec +noall +authority +additional @$parent_ip -p 15353 child.parent. NS | sed 's/^/    /'
    dig +norec +noall +answer @$parent_ip -p 15353 child.parent. DS | sed 's/^/    /'
}
wait_for() { for _ in $(seq 100); do eval "$1" >/dev/null 2>&1 && return 0; sleep 0.2; done; echo "timed out: $1" >&2; return 1; }

# BIND listens only on configured addresses: give each server its loopback alias (removed at the end).
for ip in $parent_ip $child_ip $child2_ip; do
    if ! ip -4 addr show dev lo | grep -q " $ip/"; then ip addr add "$ip/32" dev lo; aliases+=("$ip"); fi
done

step "1. BIND 9 serves the parent zone parent. on $parent_ip port 15353, with a DSYNC record for children"
mkdir -p "$work/parent" "$work/child" "$work/agent"
tsig-keygen -a hmac-sha256 delegsync-key > "$work/parent/tsig.key"
# *._dsync.parent. DSYNC ANY UPDATE 15302 agent.parent. (RFC 9859), in RFC 3597 form for BIND 9.18
dsync=$(printf '00FF02%04X%s00' 15302 "$(printf '\005agent\006parent' | od -An -tx1 | tr -d ' \n' | tr a-f A-F)")
cat > "$work/parent/parent.zone" <<ZONE
\$TTL 3600
parent.            IN SOA ns1.parent. hostmaster.parent. 2026010101 3600 900 604800 300
parent.            IN NS  ns1.parent.
ns1.parent.        IN A   192.0.2.53
*._dsync.parent.   IN TYPE66 \# $(( ${#dsync} / 2 )) $dsync
agent.parent.      IN A   127.0.0.1
child.parent.      IN NS  ns1.child.parent.
ns1.child.parent.  IN A   $child_ip
ZONE
cat > "$work/parent/named.conf" <<CONF
include "$work/parent/tsig.key";
options { directory "$work/parent"; pid-file "$work/parent/named.pid"; session-keyfile "$work/parent/session.key";
          listen-on port 15353 { $parent_ip; }; listen-on-v6 { none; }; recursion no; dnssec-validation no; notify no; };
controls { };
zone "parent." { type primary; file "$work/parent/parent.zone";
                 update-policy { grant delegsync-key zonesub NS DS A AAAA KEY; }; };
CONF
named -c "$work/parent/named.conf" -u root -g > "$work/parent/named.log" 2>&1 &
pids+=($!)
wait_for "dig +tries=1 +time=1 @$parent_ip -p 15353 parent. SOA +short | grep -q ."
sed 's/^/    /' "$work/parent/parent.zone"

step "2. delegsync serve: the parent's agent on 127.0.0.1 port 15302, SQLite store, its own SIG(0) key"
identity=$($bin keygen agent.parent. --directory "$work/agent" | head -n 1)
cat > "$work/agent/delegsync.yaml" <<CONF
version: 1
listen: [{ address: 127.0.0.1, port: 15302 }]
store: { path: $work/agent/delegsync.sqlite }
identity: { key-file: $work/agent/$identity.private }
zones:
  - name: parent.
    primary: { address: $parent_ip, port: 15353 }
    backend: { type: rfc2136, tsig-key-file: $work/parent/tsig.key }
    bootstrap: { rounds: 3, minimum-interval: 2, maximum-interval: 5 }
CONF
run $bin check-config --config "$work/agent/delegsync.yaml"
$bin serve --config "$work/agent/delegsync.yaml" 2> "$work/agent/serve.log" &
pids+=($!)
wait_for "grep -q listening $work/agent/serve.log"
run $bin status --config "$work/agent/delegsync.yaml"

step "3. NSD serves the child zone child.parent. on $child_ip (and $child2_ip) port 53, NOTIFYing the child agent"
child_zone() {  # serial, then extra records
    local serial=$1; shift
    { printf '$TTL 60\nchild.parent. IN SOA ns1.child.parent. hostmaster.child.parent. %s 3600 900 604800 60\n' "$serial"
      printf '%s\n' "$@"; } > "$work/child/child.zone"
}
records=("child.parent. IN NS ns1.child.parent." "ns1.child.parent. IN A $child_ip")
child_zone 1 "${records[@]}"
cat > "$work/child/nsd.conf" <<CONF
server:
    ip-address: $child_ip@53
    ip-address: $child2_ip@53
    username: ""
    chroot: ""
    zonesdir: "$work/child"
    database: ""
    pidfile: "$work/child/nsd.pid"
    xfrdfile: "$work/child/xfrd.state"
    zonelistfile: "$work/child/zone.list"
    logfile: "$work/child/nsd.log"
    server-count: 1
remote-control:
    control-enable: yes
    control-interface: "$work/child/nsd.ctl"
zone:
    name: child.parent.
    zonefile: "$work/child/child.zone"
    notify: 127.0.0.1@15399 NOKEY
    outgoing-interface: $child_ip
CONF
nsd -d -c "$work/child/nsd.conf" > "$work/child/nsd.out" 2>&1 &
pids+=($!)
wait_for "dig +tries=1 +time=1 @$child_ip child.parent. SOA +short | grep -q ."
reload_child() { child_zone "$1" "${records[@]}"; nsd-control -c "$work/child/nsd.conf" reload child.parent. >/dev/null; sleep 0.5; }
echo "NSD is serving child.parent."

step "4. The child agent: a key for child.parent., published in the child zone"
cat > "$work/child/child.yaml" <<CONF
version: 1
store: { path: $work/child/child.sqlite }
key-directory: $work/child/keys
resolver: { address: $parent_ip, port: 15353 }
watch: { listen: [{ address: 127.0.0.1, port: 15399 }], debounce: 1 }
children:
  - name: child.parent.
    primary: { address: $child_ip, port: 53 }
    publish: { type: print }
    parent-servers: [{ address: $parent_ip, port: 15353 }]
    receiver-key: $work/agent/$identity.key
CONF
run $bin child keygen --config "$work/child/child.yaml" child.parent.
run $bin child publish-key --config "$work/child/child.yaml" child.parent.
key_record=$($bin child publish-key --print --config "$work/child/child.yaml" child.parent. | sed -n 's/^update add //p')
echo "(NSD has no dynamic update: the operator adds that record to the zone file and reloads)"
records+=("$key_record")
reload_child 2
dig +norec +short @$child_ip child.parent. KEY | sed 's/^/    KEY at the child: /'

step "5. Bootstrap: DSYNC discovery, self-signed upload over TCP, the parent asks every child nameserver 3 times"
delegation
run $bin child bootstrap --config "$work/child/child.yaml" child.parent. --wait 60 --poll 1
echo; echo "what the parent's agent recorded:"
$bin status --config "$work/agent/delegsync.yaml" child.parent. | sed 's/^/    /'

step "6. The child zone changes: a second nameserver with glue, and a DNSSEC key (KSK) — NSD reloads and NOTIFYs"
$bin child watch --config "$work/child/child.yaml" 2> "$work/child/watch.log" &
pids+=($!)
wait_for "grep -q 'in step' $work/child/watch.log"
ksk=$(cd "$work/child" && dnssec-keygen -q -a ED25519 -f KSK child.parent.)
records+=("child.parent. IN NS ns2.child.parent." "ns2.child.parent. IN A $child2_ip" "$(grep -v '^;' "$work/child/$ksk.key")")
reload_child 3
echo "delegsync child watch (log):"
wait_for "grep -q 'applied' $work/child/watch.log"
sed -n 's/^.*\] //p' "$work/child/watch.log" | sed 's/^/    /'
delegation

step "7. Key rollover: the new key added with the old key's signature, the old one deleted with the new key's"
run $bin child roll --config "$work/child/child.yaml" child.parent.
$bin status --config "$work/agent/delegsync.yaml" child.parent. | grep '^key' | sed 's/^/    /'

step "8. The parent's audit trail (newest first)"
$bin audit --config "$work/agent/delegsync.yaml" --child child.parent. | head -n 12
echo; echo "done; everything started here is stopped and $work is removed."
