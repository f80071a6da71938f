#!/usr/bin/env python3
"""tests/harness/oidc_issuer.py - a minimal OpenID Connect issuer on a
loopback port, for AssumeRoleWithWebIdentity against the harness's radosgw
(tests/integration/s3_web_identity.sh).  radosgw 16 validates a web identity
token by fetching ISSUER/.well-known/openid-configuration, then its jwks_uri,
and checking the token's RS256 signature against the certificate in the
JWKS key's "x5c" (src/rgw/rgw_rest_sts.cc, WebTokenEngine); this serves
exactly those two documents, over HTTPS with the harness's certificate when
--tls-cert/--tls-key are given.  Python stdlib + the openssl CLI only.

  oidc_issuer.py serve --dir D --port-file F [--tls-cert C --tls-key K]
      makes D/sign.key + D/sign.crt (the signing key and the self-signed
      certificate published as x5c) and D/other.key (a key radosgw does not
      know), writes D/issuer (the issuer URL), D/thumbprint (SHA-1 of the
      x5c certificate, what radosgw 16 compares with the provider's
      ThumbprintList), the port to F, and serves
        GET /.well-known/openid-configuration  {"issuer", "jwks_uri", ...}
        GET /jwks.json                          {"keys": [{kty, kid, n, e, x5c}]}
      every request is logged to stderr as "oidc_issuer: GET PATH"; with
      --sub S --token ... it mints those tokens (as mint) before writing F
  oidc_issuer.py mint --dir D --sub S --token FILE:AUD[:TTL[:KEY]] ...
      writes to each FILE an RS256 JWT with iss (D/issuer), sub S, aud AUD,
      iat, exp = now+TTL (default 3600; negative: an expired token), signed
      with D/sign.key or, KEY "other", D/other.key
"""
import argparse
import base64
import hashlib
import json
import os
import ssl
import subprocess
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def openssl(*args, data=None):
    return subprocess.run(["openssl", *args], input=data, check=True, capture_output=True).stdout


def make_keys(d):
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", os.path.join(d, "sign.key"),
            "-subj", "/CN=ferry test OIDC signer", "-days", "2", "-out", os.path.join(d, "sign.crt"))
    # the key radosgw does not know only has to differ: 1024 bits is quicker to make
    openssl("genrsa", "-out", os.path.join(d, "other.key"), "1024")


def jwks(d):
    with open(os.path.join(d, "sign.crt")) as f:
        pem = f.read()
    der = base64.b64decode("".join(pem.split("-----BEGIN CERTIFICATE-----")[1].split("-----END")[0].split()))
    mod = openssl("x509", "-in", os.path.join(d, "sign.crt"), "-noout", "-modulus").decode()
    n = bytes.fromhex(mod.strip().split("=", 1)[1])
    kid = hashlib.sha256(der).hexdigest()[:16]
    key = {"kty": "RSA", "use": "sig", "alg": "RS256", "kid": kid, "n": b64url(n), "e": b64url(b"\x01\x00\x01"),
           "x5c": [base64.b64encode(der).decode()]}
    return {"keys": [key]}, hashlib.sha1(der).hexdigest(), kid


def serve(a):
    os.makedirs(a.dir, exist_ok=True)
    make_keys(a.dir)
    doc, thumb, kid = jwks(a.dir)
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.daemon_threads = True
    scheme = "http"
    if a.tls_cert:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(a.tls_cert, a.tls_key)
        srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
        scheme = "https"
    iss = "%s://127.0.0.1:%d" % (scheme, srv.server_address[1])
    Handler.docs = {
        "/.well-known/openid-configuration": {
            "issuer": iss, "jwks_uri": iss + "/jwks.json", "response_types_supported": ["id_token"],
            "subject_types_supported": ["public"], "id_token_signing_alg_values_supported": ["RS256"]},
        "/jwks.json": doc,
    }
    for name, text in (("issuer", iss), ("thumbprint", thumb), ("kid", kid)):
        with open(os.path.join(a.dir, name), "w") as f:
            f.write(text + "\n")
    if a.token:
        mint(a)
    tmp = a.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % srv.server_address[1])
    os.rename(tmp, a.port_file)
    srv.serve_forever()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    docs = {}

    def log_message(self, fmt, *args):
        sys.stderr.write("oidc_issuer: %s %s\n" % (self.command, self.path))
        sys.stderr.flush()

    def do_GET(self):
        doc = self.docs.get(self.path.split("?", 1)[0])
        body = json.dumps(doc).encode() if doc is not None else b'{"error": "not found"}'
        self.send_response(200 if doc is not None else 404)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def mint(a):
    with open(os.path.join(a.dir, "issuer")) as f:
        iss = f.read().strip()
    with open(os.path.join(a.dir, "kid")) as f:
        kid = f.read().strip()
    for spec in a.token:
        parts = spec.split(":")
        out, aud = parts[0], parts[1]
        ttl = int(parts[2]) if len(parts) > 2 else 3600
        key = parts[3] if len(parts) > 3 else "sign"
        now = int(time.time())
        head = {"alg": "RS256", "typ": "JWT", "kid": kid}
        claims = {"iss": iss, "sub": a.sub, "aud": aud, "iat": now - 5, "exp": now + ttl}
        if ttl < 0:
            claims["iat"] = now + ttl - 60
        signing_input = (b64url(json.dumps(head).encode()) + "." + b64url(json.dumps(claims).encode())).encode()
        sig = openssl("dgst", "-sha256", "-sign", os.path.join(a.dir, key + ".key"), data=signing_input)
        with open(out, "w") as f:
            f.write(signing_input.decode() + "." + b64url(sig))


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("serve")
    s.add_argument("--dir", required=True)
    s.add_argument("--port-file", required=True)
    s.add_argument("--tls-cert")
    s.add_argument("--tls-key")
    s.add_argument("--sub", help="with --token: tokens minted once the issuer is set up")
    s.add_argument("--token", action="append", help="FILE:AUD[:TTL[:KEY]], as mint")
    m = sub.add_parser("mint")
    m.add_argument("--dir", required=True)
    m.add_argument("--sub", required=True)
    m.add_argument("--token", action="append", required=True, help="FILE:AUD[:TTL[:KEY]]")
    a = p.parse_args()
    serve(a) if a.cmd == "serve" else mint(a)


if __name__ == "__main__":
    main()
