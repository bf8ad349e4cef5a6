#!/usr/bin/env bash
# What delegsync does today, step by step, on this machine only (loopback, no other traffic):
# a child's SIG(0) key, a signed delegation UPDATE, the parent-side check of the received
# bytes, a tampered copy refused, a message signed by BIND's own nsupdate verified; then the
# parental agent for real: BIND 9 serving the parent zone on 127.0.0.1, `delegsync serve` with
# its embedded SQLite store in front of it, an UPDATE from BIND's nsupdate committed and read
# back with dig, a refused one, and the audit trail. Everything it starts it stops.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=.build/debug/delegsync
vectors=Tests/SIG0Tests/Vectors
work=$(mktemp -d /tmp/delegsync-demo.XXXXXX)
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
    rm -rf "$work"
}
trap cleanup EXIT INT TERM

step() { printf '\n== %s\n' "$*"; }

step "1. The child makes a SIG(0) key (Ed25519, BIND's file format)"
echo "\$ delegsync keygen child.parent. --directory $work"
keyinfo=$($bin keygen child.parent. --directory "$work")
echo "$keyinfo"
base="$work/$(echo "$keyinfo" | head -n 1)"

step "2. The child signs a delegation UPDATE for the parent zone (NS + glue)"
echo "\$ delegsync message sign $vectors/vector1-unsigned.bin --key ${base##*/}.private --output update.bin"
$bin message sign "$vectors/vector1-unsigned.bin" --key "$base.private" --output "$work/update.bin"
$bin message decode "$work/update.bin"

step "3. The parent checks the bytes it received against the child's key"
echo "\$ delegsync message verify update.bin --key ${base##*/}.key"
$bin message verify "$work/update.bin" --key "$base.key"

step "4. One bit changed in transit: refused, with the reason"
python3 - "$work/update.bin" "$work/tampered.bin" <<'PY'
import sys
data = bytearray(open(sys.argv[1], "rb").read())
data[40] ^= 0x01
open(sys.argv[2], "wb").write(data)
PY
echo "\$ delegsync message verify tampered.bin --key ${base##*/}.key"
$bin message verify "$work/tampered.bin" --key "$base.key" || echo "(exit status $?: not accepted)"

step "5. A message signed by BIND's nsupdate 9.18 verifies too (at its signing time)"
echo "\$ delegsync message verify $vectors/nsupdate-alg13.bin --key Kchild.parent.+013+24099.key --at 1795920727"
$bin message verify "$vectors/nsupdate-alg13.bin" --key "$vectors/Kchild.parent.+013+24099.key" --at 1795920727

step "6. The parent side for real, on 127.0.0.1: BIND 9 serves parent., delegsync serve in front"
parent="$work/parent"; mkdir -p "$parent"
tsig-keygen -a hmac-sha256 delegsync-key > "$parent/tsig.key"
cat > "$parent/parent.zone" <<'ZONE'
$TTL 3600
parent.            IN SOA ns1.parent. hostmaster.parent. 2026010101 3600 900 604800 300
parent.            IN NS  ns1.parent.
ns1.parent.        IN A   192.0.2.53
child.parent.      IN NS  ns1.child.parent.
ns1.child.parent.  IN A   192.0.2.1
ZONE
cat > "$parent/named.conf" <<CONF
include "$parent/tsig.key";
options { directory "$parent"; pid-file "$parent/named.pid"; session-keyfile "$parent/session.key";
          listen-on port 15353 { 127.0.0.1; }; listen-on-v6 { none; }; recursion no; dnssec-validation no; };
controls { };
zone "parent." { type primary; file "$parent/parent.zone";
                 update-policy { grant delegsync-key zonesub NS DS A AAAA KEY; }; };
CONF
named -c "$parent/named.conf" -u root -g > "$parent/named.log" 2>&1 &
pids+=($!)
for _ in $(seq 50); do dig +tries=1 +time=1 @127.0.0.1 -p 15353 parent. SOA +short | grep -q . && break; sleep 0.2; done
echo "named is serving parent. on 127.0.0.1 port 15353"

cat > "$work/delegsync.yaml" <<CONF
version: 1
listen: [{ address: 127.0.0.1, port: 15302 }]
store: { path: $work/delegsync.sqlite }
zones:
  - name: parent.
    primary: { address: 127.0.0.1, port: 15353 }
    backend: { type: rfc2136, tsig-key-file: $parent/tsig.key }
CONF
echo "\$ delegsync check-config --config delegsync.yaml"
$bin check-config --config "$work/delegsync.yaml"
mkdir -p "$work/child"
child=child/$(cd "$work/child" && dnssec-keygen -q -T KEY -n HOST -a ED25519 child.parent.)
echo "\$ delegsync keys import --config delegsync.yaml $child.key --trusted   (a key made by BIND's dnssec-keygen)"
$bin keys import --config "$work/delegsync.yaml" "$work/$child.key" --trusted
$bin serve --config "$work/delegsync.yaml" 2> "$work/serve.log" &
pids+=($!)
for _ in $(seq 50); do grep -q listening "$work/serve.log" && break; sleep 0.2; done
echo "delegsync serve listens on 127.0.0.1 port 15302 (SQLite store: $work/delegsync.sqlite)"

echo; echo "The delegation the parent serves before:"
dig +norec +noall +authority +additional @127.0.0.1 -p 15353 child.parent. NS

step "7. The child sends a SIG(0)-signed UPDATE with BIND's nsupdate over TCP: new NS set, glue, DS"
script="server 127.0.0.1 15302
zone parent.
update delete child.parent. NS
update add child.parent. 3600 NS ns1.child.parent.
update add child.parent. 3600 NS ns2.child.parent.
update delete ns1.child.parent. A 192.0.2.1
update add ns1.child.parent. 3600 A 192.0.2.11
update add ns2.child.parent. 3600 A 192.0.2.12
update add child.parent. 3600 DS 12345 15 2 49FD46E6C4B45C55D4AC69CBD3CD34AC1AFE51DE8C4A3D2D4F9B1F2C7C2C3F1A
send"
echo "$script" | sed 's/^/    /'
echo "$script" | nsupdate -v -k "$work/$child.private" && echo "nsupdate: NOERROR (committed at the parent's primary)"

echo; echo "The delegation the parent serves after (dig against BIND):"
dig +norec +noall +authority +additional @127.0.0.1 -p 15353 child.parent. NS
dig +norec +noall +answer @127.0.0.1 -p 15353 child.parent. DS

step "8. A change the policy refuses: deleting every NS"
printf 'server 127.0.0.1 15302\nzone parent.\nupdate delete child.parent. NS\nsend\n' | nsupdate -v -k "$work/$child.private" || true

step "9. The audit trail"
$bin audit --config "$work/delegsync.yaml" --child child.parent.
