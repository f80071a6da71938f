#!/usr/bin/env python3
"""A fault injector in front of a real S3 server (radosgw): an HTTP/1.1
proxy that forwards every request unchanged (the Host header too, so SigV4
signatures still verify upstream) and answers by itself only for keys whose
name holds a marker, with an error body a real server should never send:

  .../badbody-truncxml-<code>...   <code> with an S3 XML error cut mid-tag
  .../badbody-html-<code>...       <code> with an HTML page (a load balancer's)
  .../badbody-empty-<code>...      <code> with an empty body
  .../badbody-binary-<code>...     <code> with 300 bytes of binary garbage

Usage: bad_body_proxy.py --port P --upstream 127.0.0.1:57480 [--pidfile F]
Listens on 127.0.0.1 only.  Python 3 stdlib only.
"""
import argparse
import http.client
import os
import re
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

UPSTREAM = ("127.0.0.1", 57480)
MARK = re.compile(r"badbody-(truncxml|html|empty|binary)-(\d{3})")

BODIES = {
    "truncxml": b'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>SlowDo',
    "html": b"<html><head><title>502 Bad Gateway</title></head><body><h1>Bad Gateway</h1></body></html>\n",
    "empty": b"",
    "binary": bytes((i * 37 + 11) % 256 for i in range(300)),
}


class Proxy(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def _read_body(self):
        n = self.headers.get("Content-Length")
        if n is not None:
            return self.rfile.read(int(n))
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            out = bytearray()
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return bytes(out)
                out += self.rfile.read(size)
                self.rfile.readline()
        return b""

    def _handle(self):
        body = self._read_body()
        m = MARK.search(self.path)
        if m:
            kind, code = m.group(1), int(m.group(2))
            payload = BODIES[kind]
            self.send_response(code)
            self.send_header("Content-Type", "application/xml" if kind == "truncxml" else "text/html")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(payload)
            return
        conn = http.client.HTTPConnection(*UPSTREAM, timeout=120)
        headers = {k: v for k, v in self.headers.items()
                   if k.lower() not in ("transfer-encoding", "connection", "content-length", "expect")}
        if body or self.command in ("PUT", "POST"):
            headers["Content-Length"] = str(len(body))
        conn.putrequest(self.command, self.path, skip_host=True, skip_accept_encoding=True)
        for k, v in headers.items():
            conn.putheader(k, v)
        conn.endheaders(body if body else None)
        resp = conn.getresponse()
        data = resp.read()
        self.send_response(resp.status, resp.reason)
        for k, v in resp.getheaders():
            if k.lower() not in ("transfer-encoding", "connection", "content-length"):
                self.send_header(k, v)
        # a HEAD answer carries the object's length, not its (empty) body's
        length = resp.getheader("Content-Length", "0") if self.command == "HEAD" else str(len(data))
        self.send_header("Content-Length", length)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)
        conn.close()

    do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _handle


def main():
    global UPSTREAM
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--upstream", default="127.0.0.1:57480")
    ap.add_argument("--pidfile")
    a = ap.parse_args()
    host, port = a.upstream.rsplit(":", 1)
    if not host.startswith("127."):
        sys.exit("bad_body_proxy: the upstream must be on loopback")
    UPSTREAM = (host, int(port))
    srv = ThreadingHTTPServer(("127.0.0.1", a.port), Proxy)
    srv.daemon_threads = True
    if a.pidfile:
        with open(a.pidfile, "w") as f:
            f.write(str(os.getpid()))
    srv.serve_forever()


if __name__ == "__main__":
    main()
