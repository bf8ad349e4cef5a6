#!/usr/bin/env python3
"""Independent SIG(0) (RFC 2931 / RFC 2535 section 4.1) signer and verifier.

Written from the RFC text as a cross-check for delegsync's Swift implementation.
Uses only the Python standard library and the `cryptography` package.

  rfc2931.py verify MSGFILE KEYFILE.key [--at UNIXTIME] [--request REQFILE]
  rfc2931.py sign MSGFILE PRIVATEFILE --inception T --expiration T
                  [--output OUT] [--request REQFILE]

Messages are raw DNS messages (no TCP length prefix). With --request the
message is a response and the signature also covers the complete request
(RFC 2535 section 4.1.8.1 transaction signature).
"""

import argparse
import base64
import struct
import sys

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature, encode_dss_signature)

TYPE_SIG = 24
TYPE_KEY = 25
CLASS_ANY = 255

ALG_RSASHA256 = 8
ALG_ECDSAP256SHA256 = 13
ALG_ECDSAP384SHA384 = 14
ALG_ED25519 = 15
# algorithm -> (ECDSA curve, hash, coordinate size) for the ECDSA algorithms
ECDSA = {
    ALG_ECDSAP256SHA256: (ec.SECP256R1(), hashes.SHA256(), 32),
    ALG_ECDSAP384SHA384: (ec.SECP384R1(), hashes.SHA384(), 48),
}


class Sig0Error(Exception):
    pass


# --------------------------------------------------------------------------
# DNS names
# --------------------------------------------------------------------------

def name_to_wire(name):
    """Presentation name (absolute, no escapes needed here) -> uncompressed wire."""
    if name in (".", ""):
        return b"\x00"
    out = b""
    for label in name.rstrip(".").split("."):
        raw = label.encode("ascii")
        if not 0 < len(raw) < 64:
            raise Sig0Error("bad label in name %r" % name)
        out += bytes([len(raw)]) + raw
    if len(out) + 1 > 255:
        raise Sig0Error("name too long: %r" % name)
    return out + b"\x00"


def read_uncompressed_name(buf, off, end):
    """Read an uncompressed wire name inside buf[off:end]; return (text, next_off)."""
    labels = []
    while True:
        if off >= end:
            raise Sig0Error("name runs past end of data")
        n = buf[off]
        if n & 0xC0:
            raise Sig0Error("compressed or extended label where none is allowed")
        off += 1
        if n == 0:
            break
        if off + n > end:
            raise Sig0Error("label runs past end of data")
        labels.append(buf[off:off + n].decode("ascii", "backslashreplace"))
        off += n
    return ".".join(labels) + ".", off


def canonical(name):
    return name.rstrip(".").lower() + "."


# --------------------------------------------------------------------------
# DNS wire walker: only needs to find record boundaries
# --------------------------------------------------------------------------

def skip_name(buf, off):
    """Skip a (possibly compressed) name starting at off; return offset after it.

    A compression pointer (top bits 11) is two octets and ends the name in
    place; we never follow it, we only need to know where the name ends.
    """
    total = 0
    while True:
        if off >= len(buf):
            raise Sig0Error("truncated name at offset %d" % off)
        n = buf[off]
        top = n & 0xC0
        if top == 0xC0:
            if off + 2 > len(buf):
                raise Sig0Error("truncated compression pointer at offset %d" % off)
            return off + 2
        if top != 0:
            raise Sig0Error("unsupported label type 0x%02x at offset %d" % (n, off))
        off += 1 + n
        total += 1 + n
        if total > 255:
            raise Sig0Error("name longer than 255 octets")
        if n == 0:
            return off


def walk(buf):
    """Return (counts, list of RR dicts) for every RR in the message."""
    if len(buf) < 12:
        raise Sig0Error("message shorter than a DNS header")
    _id, _flags, qd, an, ns, ar = struct.unpack("!HHHHHH", buf[:12])
    off = 12
    for _ in range(qd):
        off = skip_name(buf, off) + 4
        if off > len(buf):
            raise Sig0Error("truncated question")
    rrs = []
    for section, count in (("answer", an), ("authority", ns), ("additional", ar)):
        for _ in range(count):
            start = off
            off = skip_name(buf, off)
            if off + 10 > len(buf):
                raise Sig0Error("truncated RR header at offset %d" % start)
            rtype, rclass, ttl, rdlen = struct.unpack("!HHIH", buf[off:off + 10])
            rdata = off + 10
            off = rdata + rdlen
            if off > len(buf):
                raise Sig0Error("RDATA runs past end of message at offset %d" % start)
            rrs.append(dict(section=section, start=start, type=rtype, cls=rclass,
                            ttl=ttl, rdata=rdata, rdlen=rdlen, end=off))
    if off != len(buf):
        raise Sig0Error("%d trailing octets after the last RR" % (len(buf) - off))
    return (qd, an, ns, ar), rrs


class Sig0:
    """A parsed SIG(0) RR found as the last additional record of `buf`."""

    def __init__(self, buf):
        counts, rrs = walk(buf)
        if counts[3] == 0:
            raise Sig0Error("no additional records, so no SIG(0)")
        last = rrs[-1]
        if last["type"] != TYPE_SIG:
            raise Sig0Error("last additional record is type %d, not SIG" % last["type"])
        for rr in rrs[:-1]:
            if rr["section"] == "additional" and rr["type"] == TYPE_SIG:
                raise Sig0Error("more than one SIG record in the additional section")
        if buf[last["start"]] != 0 or last["rdata"] - last["start"] != 11:
            raise Sig0Error("SIG(0) owner name is not the root")
        if last["cls"] != CLASS_ANY:
            raise Sig0Error("SIG(0) class is %d, not ANY" % last["cls"])
        if last["ttl"] != 0:
            raise Sig0Error("SIG(0) TTL is %d, not 0" % last["ttl"])
        r, end = last["rdata"], last["end"]
        if last["rdlen"] < 19:
            raise Sig0Error("SIG RDATA too short")
        (self.covered, self.algorithm, self.labels, self.orig_ttl, self.expiration,
         self.inception, self.keytag) = struct.unpack("!HBBIIIH", buf[r:r + 18])
        if self.covered != 0:
            raise Sig0Error("type covered is %d, not 0 (not a SIG(0))" % self.covered)
        if self.labels != 0:
            raise Sig0Error("labels field is %d, not 0" % self.labels)
        self.signer, sig_off = read_uncompressed_name(buf, r + 18, end)
        self.fixed = buf[r:sig_off]          # RDATA without the signature
        self.signature = buf[sig_off:end]
        if not self.signature:
            raise Sig0Error("empty signature")
        self.sig_start = last["start"]
        self.buf = buf

    def message_without_sig(self):
        """Header with ARCOUNT - 1, then the body up to the SIG(0) RR."""
        arcount = struct.unpack("!H", self.buf[10:12])[0]
        return self.buf[:10] + struct.pack("!H", arcount - 1) + self.buf[12:self.sig_start]


def signed_data(fixed, message_without_sig, request=None):
    return fixed + (request or b"") + message_without_sig


# --------------------------------------------------------------------------
# Keys
# --------------------------------------------------------------------------

def key_tag(rdata):
    """RFC 4034 Appendix B key tag (not for algorithm 1)."""
    ac = 0
    for i, b in enumerate(rdata):
        ac += b if i & 1 else b << 8
    ac += (ac >> 16) & 0xFFFF
    return ac & 0xFFFF


class PublicKey:
    def __init__(self, owner, flags, protocol, algorithm, keydata):
        self.owner = owner
        self.flags, self.protocol, self.algorithm = flags, protocol, algorithm
        self.keydata = keydata
        self.rdata = struct.pack("!HBB", flags, protocol, algorithm) + keydata
        self.tag = key_tag(self.rdata)

    def crypto_key(self):
        alg, k = self.algorithm, self.keydata
        if alg == ALG_ED25519:
            if len(k) != 32:
                raise Sig0Error("Ed25519 public key is %d octets, not 32" % len(k))
            return ed25519.Ed25519PublicKey.from_public_bytes(k)
        if alg in ECDSA:
            curve, _h, size = ECDSA[alg]
            if len(k) != 2 * size:
                raise Sig0Error("ECDSA public key is %d octets, not %d" % (len(k), 2 * size))
            return ec.EllipticCurvePublicKey.from_encoded_point(curve, b"\x04" + k)
        if alg == ALG_RSASHA256:
            # RFC 3110: exponent length (1 octet, or 0 then 2 octets), exponent, modulus
            if not k:
                raise Sig0Error("empty RSA public key")
            if k[0] == 0:
                elen, pos = struct.unpack("!H", k[1:3])[0], 3
            else:
                elen, pos = k[0], 1
            e = int.from_bytes(k[pos:pos + elen], "big")
            n = int.from_bytes(k[pos + elen:], "big")
            if not e or not n:
                raise Sig0Error("malformed RSA public key")
            return rsa.RSAPublicNumbers(e, n).public_key()
        raise Sig0Error("unsupported algorithm %d" % alg)


def read_key_file(path):
    """Parse a BIND K*.key file: `owner [ttl] [class] KEY flags proto alg base64...`."""
    with open(path) as f:
        lines = [ln.split(";", 1)[0].strip() for ln in f]
    lines = [ln for ln in lines if ln]
    if len(lines) != 1:
        raise Sig0Error("%s: expected exactly one KEY record" % path)
    tok = lines[0].split()
    owner, rest = tok[0], tok[1:]
    while rest and rest[0].upper() != "KEY":
        if not (rest[0].isdigit() or rest[0].upper() in ("IN", "CH", "HS", "ANY")):
            raise Sig0Error("%s: unexpected token %r (not a KEY record?)" % (path, rest[0]))
        rest = rest[1:]
    if len(rest) < 5:
        raise Sig0Error("%s: not a KEY record" % path)
    flags, proto, alg = int(rest[1]), int(rest[2]), int(rest[3])
    keydata = base64.b64decode("".join(t for t in rest[4:] if t not in "()"))
    if not owner.endswith("."):
        raise Sig0Error("%s: owner name %r is not absolute" % (path, owner))
    return PublicKey(owner, flags, proto, alg, keydata)


def read_private_file(path):
    """Parse a BIND v1.x .private file into a `cryptography` private key."""
    fields = {}
    with open(path) as f:
        for ln in f:
            if ":" in ln:
                k, v = ln.split(":", 1)
                fields[k.strip()] = v.strip()
    if not fields.get("Private-key-format", "").startswith("v1."):
        raise Sig0Error("%s: not a BIND private key file" % path)
    alg = int(fields["Algorithm"].split()[0])
    b = lambda k: base64.b64decode(fields[k])
    i = lambda k: int.from_bytes(b(k), "big")
    if alg == ALG_ED25519:
        return alg, ed25519.Ed25519PrivateKey.from_private_bytes(b("PrivateKey"))
    if alg in ECDSA:
        return alg, ec.derive_private_key(i("PrivateKey"), ECDSA[alg][0])
    if alg == ALG_RSASHA256:
        n, e = i("Modulus"), i("PublicExponent")
        nums = rsa.RSAPrivateNumbers(
            p=i("Prime1"), q=i("Prime2"), d=i("PrivateExponent"),
            dmp1=i("Exponent1"), dmq1=i("Exponent2"), iqmp=i("Coefficient"),
            public_numbers=rsa.RSAPublicNumbers(e, n))
        return alg, nums.private_key()
    raise Sig0Error("%s: unsupported algorithm %d" % (path, alg))


# --------------------------------------------------------------------------
# Sign / verify primitives
# --------------------------------------------------------------------------

def crypto_verify(pub, alg, sig, data):
    try:
        if alg == ALG_ED25519:
            pub.verify(sig, data)
        elif alg in ECDSA:
            _c, h, size = ECDSA[alg]
            if len(sig) != 2 * size:
                raise Sig0Error("ECDSA signature is %d octets, not %d" % (len(sig), 2 * size))
            r = int.from_bytes(sig[:size], "big")
            s = int.from_bytes(sig[size:], "big")
            pub.verify(encode_dss_signature(r, s), data, ec.ECDSA(h))
        elif alg == ALG_RSASHA256:
            pub.verify(sig, data, padding.PKCS1v15(), hashes.SHA256())
        else:
            raise Sig0Error("unsupported algorithm %d" % alg)
    except InvalidSignature:
        raise Sig0Error("signature does not verify")


def crypto_sign(priv, alg, data):
    if alg == ALG_ED25519:
        return priv.sign(data)
    if alg in ECDSA:
        _c, h, size = ECDSA[alg]
        r, s = decode_dss_signature(priv.sign(data, ec.ECDSA(h)))
        return r.to_bytes(size, "big") + s.to_bytes(size, "big")
    if alg == ALG_RSASHA256:
        return priv.sign(data, padding.PKCS1v15(), hashes.SHA256())
    raise Sig0Error("unsupported algorithm %d" % alg)


def verify(msg, key, at=None, request=None):
    """Verify the SIG(0) on msg with PublicKey key. Returns the parsed Sig0."""
    sig = Sig0(msg)
    if canonical(sig.signer) != canonical(key.owner):
        raise Sig0Error("signer %s does not match key owner %s" % (sig.signer, key.owner))
    if sig.algorithm != key.algorithm:
        raise Sig0Error("algorithm %d does not match key algorithm %d"
                        % (sig.algorithm, key.algorithm))
    if sig.keytag != key.tag:
        raise Sig0Error("key tag %d does not match key tag %d" % (sig.keytag, key.tag))
    if key.protocol not in (3, 255):
        raise Sig0Error("key protocol %d is not 3" % key.protocol)
    if (key.flags & 0xC000) == 0xC000:
        raise Sig0Error("KEY has the no-key flag combination")
    if at is not None:
        if sig.expiration < sig.inception:
            raise Sig0Error("expiration %d before inception %d" % (sig.expiration, sig.inception))
        if at < sig.inception:
            raise Sig0Error("not yet valid (inception %d > %d)" % (sig.inception, at))
        if at > sig.expiration:
            raise Sig0Error("expired (expiration %d < %d)" % (sig.expiration, at))
    data = signed_data(sig.fixed, sig.message_without_sig(), request)
    crypto_verify(key.crypto_key(), sig.algorithm, sig.signature, data)
    return sig


def sign(msg, alg, priv, key, inception, expiration, request=None):
    """Append a SIG(0) made with priv (public half `key`) to msg."""
    walk(msg)  # the unsigned message must be well formed
    if alg != key.algorithm:
        raise Sig0Error("private key algorithm %d != .key algorithm %d" % (alg, key.algorithm))
    fixed = struct.pack("!HBBIIIH", 0, alg, 0, 0, expiration, inception, key.tag)
    fixed += name_to_wire(key.owner)
    signature = crypto_sign(priv, alg, signed_data(fixed, msg, request))
    rdata = fixed + signature
    rr = b"\x00" + struct.pack("!HHIH", TYPE_SIG, CLASS_ANY, 0, len(rdata)) + rdata
    arcount = struct.unpack("!H", msg[10:12])[0]
    return msg[:10] + struct.pack("!H", arcount + 1) + msg[12:] + rr


# --------------------------------------------------------------------------
# CLI
# --------------------------------------------------------------------------

def read(path):
    with open(path, "rb") as f:
        return f.read()


def main(argv=None):
    ap = argparse.ArgumentParser(description="Independent RFC 2931 SIG(0) tool")
    sub = ap.add_subparsers(dest="cmd", required=True)
    v = sub.add_parser("verify")
    v.add_argument("msg")
    v.add_argument("keyfile")
    v.add_argument("--at", type=int)
    v.add_argument("--request", help="request file, when MSG is a signed response")
    s = sub.add_parser("sign")
    s.add_argument("msg")
    s.add_argument("privatefile")
    s.add_argument("--inception", type=int, required=True)
    s.add_argument("--expiration", type=int, required=True)
    s.add_argument("--output")
    s.add_argument("--request", help="request file, when MSG is a response")
    a = ap.parse_args(argv)
    request = read(a.request) if a.request else None

    if a.cmd == "verify":
        try:
            key = read_key_file(a.keyfile)
            sig = verify(read(a.msg), key, a.at, request)
        except (Sig0Error, OSError, ValueError, KeyError) as e:
            print("not verified: %s" % e)
            return 1
        print("verified signer=%s keytag=%d algorithm=%d" % (sig.signer, sig.keytag, sig.algorithm))
        return 0

    try:
        base = a.privatefile[:-len(".private")] if a.privatefile.endswith(".private") \
            else a.privatefile
        key = read_key_file(base + ".key")
        alg, priv = read_private_file(base + ".private")
        out = sign(read(a.msg), alg, priv, key, a.inception, a.expiration, request)
    except (Sig0Error, OSError, ValueError, KeyError) as e:
        print("sign failed: %s" % e, file=sys.stderr)
        return 1
    if a.output:
        with open(a.output, "wb") as f:
            f.write(out)
    else:
        sys.stdout.buffer.write(out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
