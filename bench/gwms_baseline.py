#!/usr/bin/python3
"""A GlideinWMS-equivalent token minter, written for glidekey's benchmarks (not GlideinWMS code).

It does per token what GlideinWMS's frontend does per token: read the passwords.d key file,
unscramble it (XOR with DE AD BE EF), double it for the POOL key, derive the signing key with
HKDF-SHA256 (salt "htcondor", info "master jwt", 32 bytes), and sign HS256 with PyJWT (header
alg, kid, typ; claims sub, iat, nbf, jti, iss, exp, scope). No ledger, no HTTP.

Run it with Debian's interpreter (/usr/bin/python3, python3-jwt and python3-cryptography).

  gwms_baseline.py check VECTORS.json   one token per vector at the vector's iat and jti, as JSON
  gwms_baseline.py bench KEYFILE KID ISSUER SUBJECT SCOPE LIFETIME COUNT
                                        COUNT tokens in a row; rate and latency percentiles as JSON
"""
import json
import math
import os
import sys
import tempfile
import time
import uuid

import jwt
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

MASK = bytes((0xDE, 0xAD, 0xBE, 0xEF))


def unscramble(data):
    return bytes(b ^ MASK[i % 4] for i, b in enumerate(data))


def signing_key(path, kid):
    with open(path, "rb") as f:
        raw = unscramble(f.read())
    if kid == "POOL":
        raw += raw
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=b"htcondor", info=b"master jwt").derive(raw)


def mint(path, kid, issuer, subject, scope, lifetime, iat=None, jti=None):
    """One token, from the key file on disk, the way GlideinWMS makes one."""
    key = signing_key(path, kid)
    iat = int(time.time()) if iat is None else iat
    claims = {"sub": subject, "iat": iat, "nbf": iat, "jti": jti or uuid.uuid4().hex, "iss": issuer}
    if lifetime:
        claims["exp"] = iat + lifetime
    if scope:
        claims["scope"] = scope
    token = jwt.encode(claims, key, algorithm="HS256", headers={"kid": kid})
    return token.decode() if isinstance(token, bytes) else token


def check(vectors_file):
    with open(vectors_file) as f:
        vectors = json.load(f)["vectors"]
    out = []
    with tempfile.TemporaryDirectory() as d:
        for v in vectors:
            path = os.path.join(d, v["key_file_name"])
            with open(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "wb") as f:
                f.write(bytes.fromhex(v["scrambled_file_hex"]))
            c = v["claims_input"]
            token = mint(path, v["kid"], c["iss"], c["sub"], c["scope"], c["duration"], c["iat"], c["jti"])
            out.append({"name": v["name"], "jwt": token, "derived_key_hex": signing_key(path, v["kid"]).hex()})
    print(json.dumps({"pyjwt": jwt.__version__, "tokens": out}))


def percentile(sorted_ms, p):
    i = min(len(sorted_ms) - 1, max(0, math.ceil(p / 100 * len(sorted_ms)) - 1))
    return sorted_ms[i]


def bench(path, kid, issuer, subject, scope, lifetime, count):
    lifetime, count = int(lifetime), int(count)
    for _ in range(min(200, count)):
        mint(path, kid, issuer, subject, scope, lifetime)
    lat = []
    t0 = time.perf_counter()
    for _ in range(count):
        s = time.perf_counter()
        mint(path, kid, issuer, subject, scope, lifetime)
        lat.append((time.perf_counter() - s) * 1000)
    seconds = time.perf_counter() - t0
    lat.sort()
    print(json.dumps({
        "ops": count,
        "seconds": round(seconds, 3),
        "tokensPerSecond": round(count / seconds, 1),
        "p50Ms": round(percentile(lat, 50), 3),
        "p99Ms": round(percentile(lat, 99), 3),
        "pyjwt": jwt.__version__,
    }))


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "check":
        check(sys.argv[2])
    elif len(sys.argv) == 9 and sys.argv[1] == "bench":
        bench(*sys.argv[2:])
    else:
        sys.exit(__doc__)
