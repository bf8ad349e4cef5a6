#!/usr/bin/env bash
# What delegsync does today, step by step, on this machine only (no network traffic):
# a child's SIG(0) key, a signed delegation UPDATE, the parent-side check of the received
# bytes, a tampered copy refused, and a message signed by BIND's own nsupdate verified.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=.build/debug/delegsync
vectors=Tests/SIG0Tests/Vectors
work=$(mktemp -d /tmp/delegsync-demo.XXXXXX)
trap 'rm -rf "$work"' EXIT

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

printf '\nNext: delegsync serve (receiver, policy, backends) and the key bootstrap; see README.md.\n'
