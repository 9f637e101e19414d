#!/usr/bin/env python3
"""Open Badges interoperability (issue #21): a badge Credence signs, checked by code that
shares nothing with Credence's — the JWS signature with PyPI `cryptography` against the JWK
from the issuer's jwks.json, and the revocation bit decoded from the published Bitstring
Status List (base64url, GZIP, index 0 = left-most bit) by hand.

It starts `credence demo` on a free loopback port with a fresh data directory, takes an
issued credential, downloads its badge and checks it; revokes the credential through the
API and checks that the published list now has the bit set and `POST /api/v1/verify` says
`revoked`. Exits non-zero on any mismatch.

    python3 -m pip install cryptography
    python3 e2e/badges_interop.py [path/to/credence]   # default target/debug/credence
"""

from __future__ import annotations

import base64
import gzip
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey


def b64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def jws_parts(jwt: str) -> tuple[dict, dict, bytes, bytes]:
    h, p, s = jwt.split(".")
    return json.loads(b64url(h)), json.loads(b64url(p)), f"{h}.{p}".encode(), b64url(s)


def http(method: str, url: str, token: str | None = None, body: dict | None = None):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method)
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    if data is not None:
        req.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(req, timeout=30) as resp:
        return resp.headers.get("Content-Type", ""), resp.read().decode()


def verify_jws(jwt: str, jwks: dict) -> tuple[dict, dict]:
    """Checks the signature with the JWK the header's kid names; answers (header, payload)."""
    header, payload, signing_input, signature = jws_parts(jwt)
    assert header["alg"] == "EdDSA", header
    key = next(k for k in jwks["keys"] if k["kid"] == header["kid"])
    assert key["kty"] == "OKP" and key["crv"] == "Ed25519", key
    Ed25519PublicKey.from_public_bytes(b64url(key["x"])).verify(signature, signing_input)
    return header, payload


def status_bit(list_jwt: str, jwks: dict, index: int) -> bool:
    _, lst = verify_jws(list_jwt, jwks)
    assert "BitstringStatusListCredential" in lst["type"], lst["type"]
    encoded = lst["credentialSubject"]["encodedList"]
    assert encoded.startswith("u"), "multibase base64url"
    bits = gzip.decompress(b64url(encoded[1:]))
    assert len(bits) * 8 >= 131_072, len(bits)
    return bool(bits[index // 8] & (0x80 >> (index % 8)))


def main() -> int:
    binary = sys.argv[1] if len(sys.argv) > 1 else "target/debug/credence"
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    base = f"http://127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items() if k != "CREDENCE_DATABASE_URL"}
    data_dir = tempfile.mkdtemp(prefix="credence-badges-")
    env.update(CREDENCE_DATA_DIR=data_dir, CREDENCE_LOG="warn")
    server = subprocess.Popen([binary, "demo", "--bind", f"127.0.0.1:{port}"], env=env,
                              stdout=subprocess.PIPE, text=True)
    try:
        token = None
        for line in server.stdout:
            if "API token:" in line:
                token = line.split("API token:")[1].strip()
                break
        assert token, "the demo printed no API token"
        for _ in range(100):
            try:
                http("GET", f"{base}/healthz")
                break
            except OSError:
                time.sleep(0.2)

        _, text = http("GET", f"{base}/api/v1/credentials?status=active&limit=1", token)
        credential = json.loads(text)["items"][0]["id"]
        kind, jwt = http("GET", f"{base}/api/v1/credentials/{credential}/badge", token)
        assert kind == "application/vc+jwt", kind
        _, claims, _, _ = jws_parts(jwt)
        issuer = claims["issuer"]["id"]
        _, text = http("GET", f"{issuer}/jwks.json")
        jwks = json.loads(text)

        header, badge = verify_jws(jwt, jwks)
        assert header["typ"] == "vc+jwt"
        assert badge["type"] == ["VerifiableCredential", "OpenBadgeCredential"], badge["type"]
        print(f"signature ok: {credential} signed by {header['kid']} of {issuer}")

        h, p, s = jwt.split(".")
        forged = dict(badge, validUntil="2099-12-31T23:59:59Z")
        forged_input = f"{h}.{base64.urlsafe_b64encode(json.dumps(forged).encode()).decode().rstrip('=')}"
        key = next(k for k in jwks["keys"] if k["kid"] == header["kid"])
        try:
            Ed25519PublicKey.from_public_bytes(b64url(key["x"])).verify(b64url(s), forged_input.encode())
            raise AssertionError("a changed payload verified")
        except InvalidSignature:
            print("a changed payload is refused: ok")

        entry = badge["credentialStatus"]
        assert entry["type"] == "BitstringStatusListEntry" and entry["statusPurpose"] == "revocation"
        index = int(entry["statusListIndex"])
        _, list_jwt = http("GET", entry["statusListCredential"])
        assert not status_bit(list_jwt, jwks, index), "a fresh badge is not revoked"
        print(f"status bit {index} clear: ok")

        http("POST", f"{base}/api/v1/credentials/{credential}/revoke", token, {"reason": "Interop check"})
        _, list_jwt = http("GET", entry["statusListCredential"])
        assert status_bit(list_jwt, jwks, index), "revoking sets the bit"
        _, text = http("POST", f"{base}/api/v1/verify", None, {"jwt": jwt})
        assert json.loads(text)["status"] == "revoked", text
        print(f"after revoking, bit {index} set and /verify says revoked: ok")
        return 0
    finally:
        server.terminate()
        server.wait(timeout=10)
        shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
