#!/usr/bin/env python3
"""S3 in another region, in front of a real S3 server (radosgw, which
accepts any region in a SigV4 scope): an HTTP/1.1 proxy that says one
bucket lives in region --region, as AWS does, and forwards everything else
unchanged (the Host header too, so signatures still verify upstream).

A request on --bucket (path style: /BUCKET, /BUCKET/..., /BUCKET?...) whose
Authorization scope names another region than --region is answered by the
proxy itself, never forwarded:

  --mode permanent   301 PermanentRedirect, x-amz-bucket-region: REGION and
                     the XML body with <Endpoint> (a HEAD gets the header only)
  --mode malformed   400 AuthorizationHeaderMalformed, "the region 'X' is
                     wrong; expecting 'REGION'" with <Region> (HEAD: header only)
  --mode loop        every request on the bucket: 301 naming a region that is
                     never the one signed for (REGION, or --other-region when
                     REGION was signed): a client that follows redirects
                     blindly never gets out

Every request is logged to --log, one line each:
  REDIRECT <METHOD> <path> signed=<region> -> <status> <region named>
  FORWARD  <METHOD> <path> signed=<region> -> <upstream status>

Usage: region_proxy.py --port P --upstream 127.0.0.1:57480 --bucket B
         --region us-east-1 [--mode permanent] [--other-region eu-west-1] --log F
--port 0 picks a free port and writes it to --port-file.  Listens on
127.0.0.1 only.  Python 3 stdlib only.
"""
import argparse
import http.client
import re
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

SCOPE = re.compile(r"Credential=[^/]+/\d{8}/([^/]+)/s3/aws4_request")
ARGS = None
LOG_LOCK = threading.Lock()


def log(line):
    with LOG_LOCK:
        with open(ARGS.log, "a") as f:
            f.write(line + "\n")


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

    def _on_bucket(self):
        p = self.path.split("?", 1)[0]
        b = "/" + ARGS.bucket
        return p == b or p.startswith(b + "/")

    def _answer(self, status, reason, headers, body):
        self.send_response(status, reason)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _redirect(self, signed):
        mode = ARGS.mode
        named = ARGS.region
        if mode == "loop" and signed == ARGS.region:
            named = ARGS.other_region
        rid = "ferry-region-proxy"
        if mode == "malformed":
            body = ('<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>AuthorizationHeaderMalformed</Code>'
                    "<Message>The authorization header is malformed; the region '%s' is wrong; expecting '%s'"
                    "</Message><Region>%s</Region><RequestId>%s</RequestId></Error>" % (signed, named, named, rid))
            status, reason = 400, "Bad Request"
        else:
            body = ('<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>PermanentRedirect</Code>'
                    "<Message>The bucket you are attempting to access must be addressed using the specified "
                    "endpoint. Please send all future requests to this endpoint.</Message>"
                    "<Endpoint>%s.s3.%s.amazonaws.com</Endpoint><Bucket>%s</Bucket><RequestId>%s</RequestId>"
                    "</Error>" % (ARGS.bucket, named, ARGS.bucket, rid))
            status, reason = 301, "Moved Permanently"
        self._answer(status, reason, [("Content-Type", "application/xml"), ("x-amz-bucket-region", named),
                                      ("x-amz-request-id", rid)], body.encode())
        log("REDIRECT %s %s signed=%s -> %d %s" % (self.command, self.path, signed, status, named))

    def _handle(self):
        body = self._read_body()
        m = SCOPE.search(self.headers.get("Authorization") or "")
        signed = m.group(1) if m else "-"
        if self._on_bucket() and (signed != ARGS.region or ARGS.mode == "loop"):
            self._redirect(signed)
            return
        host, port = ARGS.upstream.rsplit(":", 1)
        conn = http.client.HTTPConnection(host, int(port), timeout=120)
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
        conn.close()
        log("FORWARD %s %s signed=%s -> %d" % (self.command, self.path, signed, resp.status))
        self.send_response(resp.status, resp.reason)
        for k, v in resp.getheaders():
            if k.lower() not in ("transfer-encoding", "connection", "content-length"):
                self.send_header(k, v)
        if self.command == "HEAD":
            self.send_header("Content-Length", resp.getheader("Content-Length") or "0")
        else:
            self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _handle


def main():
    global ARGS
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--port-file")
    ap.add_argument("--upstream", required=True)
    ap.add_argument("--bucket", required=True)
    ap.add_argument("--region", required=True)
    ap.add_argument("--other-region", default="eu-west-1")
    ap.add_argument("--mode", choices=("permanent", "malformed", "loop"), default="permanent")
    ap.add_argument("--log", required=True)
    ARGS = ap.parse_args()
    srv = ThreadingHTTPServer(("127.0.0.1", ARGS.port), Proxy)
    srv.daemon_threads = True
    if ARGS.port_file:
        with open(ARGS.port_file + ".tmp", "w") as f:
            f.write("%d\n" % srv.server_address[1])
        import os
        os.rename(ARGS.port_file + ".tmp", ARGS.port_file)
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
