#!/usr/bin/env python3
"""Capture SIG(0)-signed UPDATE messages sent by BIND's nsupdate.

  make_captures.py OUTDIR

For each case: generate a TEST-ONLY KEY with dnssec-keygen in OUTDIR, run
nsupdate -k against a one-shot listener on 127.0.0.1 (random port), save the
first UPDATE received (raw DNS message, TCP length prefix stripped), answer
with the request header turned into a NOERROR response, and check the capture
with rfc2931.py. Writes OUTDIR/captures.tsv. Key pairs listed in an existing
captures.tsv are deleted first, so re-running replaces the previous capture set.
Needs bind9-dnsutils (dnssec-keygen, nsupdate).
"""

import os
import socket
import struct
import subprocess
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rfc2931  # noqa: E402

# (output file, dnssec-keygen algorithm, extra keygen args, key owner, zone, transport)
CASES = [
    ("nsupdate-alg8.bin", "RSASHA256", ["-b", "2048"], "child.parent.", "parent.", "udp"),
    ("nsupdate-alg13.bin", "ECDSAP256SHA256", [], "child.parent.", "parent.", "udp"),
    ("nsupdate-alg14.bin", "ECDSAP384SHA384", [], "child.parent.", "parent.", "udp"),
    ("nsupdate-alg15.bin", "ED25519", [], "child.parent.", "parent.", "udp"),
    ("nsupdate-tcp-alg15.bin", "ED25519", [], "child.parent.", "parent.", "tcp"),
    ("nsupdate-mixedcase-alg13.bin", "ECDSAP256SHA256", [], "MiXed.Parent.", "Parent.", "udp"),
]

SCRIPT = """server 127.0.0.1 {port}
zone {zone}
update delete child.parent. NS
update add child.parent. 3600 NS ns1.child.parent.
update add child.parent. 3600 NS ns.provider.example.
update add ns1.child.parent. 3600 A 192.0.2.1
send
"""

TSV_HEADER = "file\tkeyfile\talgorithm\tkeytag\tsigner\tinception\texpiration\ttransport\n"


def reply_for(request):
    """The request header with QR=1, RCODE=0 and all counts zero."""
    msg_id, flags = struct.unpack("!HH", request[:4])
    return struct.pack("!HHHHHH", msg_id, (flags | 0x8000) & ~0x000F, 0, 0, 0, 0)


def recv_exact(conn, n):
    data = b""
    while len(data) < n:
        chunk = conn.recv(n - len(data))
        if not chunk:
            raise EOFError("connection closed")
        data += chunk
    return data


def listen(transport):
    """Start a one-shot listener; return (port, thread, result dict)."""
    kind = socket.SOCK_DGRAM if transport == "udp" else socket.SOCK_STREAM
    sock = socket.socket(socket.AF_INET, kind)
    sock.bind(("127.0.0.1", 0))  # the kernel picks a random free high port
    sock.settimeout(30)
    result = {}

    def serve():
        try:
            if transport == "udp":
                data, peer = sock.recvfrom(65535)
                sock.sendto(reply_for(data), peer)
            else:
                sock.listen(1)
                conn, _ = sock.accept()
                with conn:
                    (length,) = struct.unpack("!H", recv_exact(conn, 2))
                    data = recv_exact(conn, length)
                    reply = reply_for(data)
                    conn.sendall(struct.pack("!H", len(reply)) + reply)
            result["data"] = data
        finally:
            sock.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    return sock.getsockname()[1], thread, result


def capture(outdir, case):
    out, alg, extra, owner, zone, transport = case
    base = subprocess.run(["dnssec-keygen", "-q", "-T", "KEY", "-n", "HOST", "-a", alg]
                          + extra + [owner], cwd=outdir, check=True,
                          capture_output=True, text=True).stdout.strip()
    port, thread, result = listen(transport)
    cmd = ["nsupdate"] + (["-v"] if transport == "tcp" else []) + ["-k", base + ".private"]
    subprocess.run(cmd, cwd=outdir, input=SCRIPT.format(port=port, zone=zone),
                   text=True, check=True, timeout=60)
    thread.join(5)
    data = result["data"]
    with open(os.path.join(outdir, out), "wb") as f:
        f.write(data)
    key = rfc2931.read_key_file(os.path.join(outdir, base + ".key"))
    sig = rfc2931.verify(data, key)  # raises if it does not verify
    print("%s: verified, %s" % (out, base), file=sys.stderr)
    return "\t".join(str(x) for x in (out, base + ".key", sig.algorithm, sig.keytag,
                                       sig.signer, sig.inception, sig.expiration,
                                       transport)) + "\n"


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    outdir = sys.argv[1]
    tsv = os.path.join(outdir, "captures.tsv")
    if os.path.exists(tsv):  # drop the keys of the capture set being replaced
        with open(tsv) as f:
            for line in list(f)[1:]:
                stem = line.split("\t")[1][:-len(".key")]
                for ext in (".key", ".private"):
                    if os.path.exists(os.path.join(outdir, stem + ext)):
                        os.remove(os.path.join(outdir, stem + ext))
    rows = [capture(outdir, case) for case in CASES]
    with open(tsv, "w") as f:
        f.write(TSV_HEADER + "".join(rows))


if __name__ == "__main__":
    main()
