#!/usr/bin/env python3
"""tests/harness/imds_server.py - EC2 instance metadata (IMDSv2), ECS/EKS
container credentials and the SSO portal's GetRoleCredentials, as AWS
documents them, on a loopback port, for the credential-chain tests
(tests/integration/s3_credentials.sh).  No AWS endpoint exists here, so
this stands in for the machine's endpoints; the credentials it hands out
are real ones for the harness's radosgw, read from --creds at every
request (a JSON file the test writes: AccessKeyId, SecretAccessKey, Token,
Expiration), so a copy through it writes a real object.

IMDSv2 (https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/configuring-instance-metadata-service.html):
  PUT /latest/api/token with X-aws-ec2-metadata-token-ttl-seconds (1..21600)
      -> a session token (400 without the header, 405 for GET)
  GET /latest/meta-data/iam/security-credentials/       -> the role name
  GET /latest/meta-data/iam/security-credentials/ROLE   -> {"Code": "Success", ..., "Expiration"}
      both 401 without a valid X-aws-ec2-metadata-token; 404 for another role
Container (ECS task role / EKS Pod Identity):
  GET /container/credentials  -> {"AccessKeyId", "SecretAccessKey", "Token", "Expiration", "RoleArn"}
      401 when --container-token is set and Authorization differs
STS AssumeRoleWithWebIdentity (radosgw 16 would need an OIDC provider with
JWKS over https; this checks the request instead):
  POST /sts/ form Action=AssumeRoleWithWebIdentity&Version=2011-06-15&RoleArn&
      RoleSessionName&WebIdentityToken -> AssumeRoleWithWebIdentityResponse XML;
      an unsigned request (no Authorization) with WebIdentityToken == --web-token,
      else an <ErrorResponse> (403 AccessDenied / 400 InvalidParameterValue)
SSO portal:
  GET /federation/credentials?account_id=A&role_name=R with x-amz-sso_bearer_token
      -> {"roleCredentials": {..., "expiration": ms}}; 401 for another token

  --port-file F     write the chosen port to F (the port is random)
  --creds F         the credentials JSON (re-read at every request)
  --slow S          sleep S seconds before every answer (a hanging endpoint)
  --fail-after N    answer 500 to credential documents after N of them were served
  --count-file F    write the number of credential documents served to F
  --container-token T, --sso-token T, --web-token T
  --record F        append every STS request (its form and Authorization
                    header) to F as a JSON line
STS AssumeRole (radosgw 16 takes ExternalId and Tags without using them, so
the test checks what ferry sends instead):
  POST /sts/ form Action=AssumeRole&... SigV4-signed for service sts
      -> AssumeRoleResponse with --creds; 403 when not signed for sts
"""
import argparse
import calendar
import json
import os
import secrets
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

ROLE = "ferry-test-role"
args = None
tokens = {}        # IMDS session token -> expiry (monotonic)
served = [0]


def load_creds():
    with open(args.creds) as f:
        return json.load(f)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *a):
        sys.stderr.write("imds_server: %s %s\n" % (self.command, self.path))

    def answer(self, code, body, ctype="text/plain"):
        data = body.encode() if isinstance(body, str) else body
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def slow(self):
        if args.slow:
            time.sleep(args.slow)

    def creds_doc(self, imds):
        if args.fail_after is not None and served[0] >= args.fail_after:
            return self.answer(500, "credentials unavailable (--fail-after)")
        c = load_creds()
        served[0] += 1
        if args.count_file:
            with open(args.count_file, "w") as f:
                f.write("%d\n" % served[0])
        doc = {"AccessKeyId": c["AccessKeyId"], "SecretAccessKey": c["SecretAccessKey"],
               "Token": c.get("Token", ""), "Expiration": c["Expiration"]}
        if imds:
            doc = dict(Code="Success", LastUpdated=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                       Type="AWS-HMAC", **doc)
        else:
            doc["RoleArn"] = "arn:aws:iam::000000000000:role/" + ROLE
        self.answer(200, json.dumps(doc), "application/json")

    def do_POST(self):
        self.slow()
        n = int(self.headers.get("Content-Length") or 0)
        form = parse_qs(self.rfile.read(n).decode()) if n else {}
        f = {k: v[0] for k, v in form.items()}

        def error(code, ecode, msg):
            self.answer(code, "<ErrorResponse><Error><Type>Sender</Type><Code>%s</Code><Message>%s</Message>"
                        "</Error><RequestId>r1</RequestId></ErrorResponse>" % (ecode, msg), "text/xml")
        if urlparse(self.path).path != "/sts/":
            return self.answer(404, "not found")
        if args.record:
            with open(args.record, "a") as fh:
                fh.write(json.dumps({"form": f, "authorization": self.headers.get("Authorization", "")}) + "\n")
        if f.get("Action") == "AssumeRole" and f.get("Version") == "2011-06-15":
            return self.assume_role(f, error)
        if f.get("Action") != "AssumeRoleWithWebIdentity" or f.get("Version") != "2011-06-15":
            return error(400, "InvalidAction", "only AssumeRole(WithWebIdentity), Version 2011-06-15")
        if "Authorization" in self.headers:
            return error(400, "InvalidParameterValue", "AssumeRoleWithWebIdentity is not signed")
        if not f.get("RoleArn") or not f.get("RoleSessionName"):
            return error(400, "MissingParameter", "RoleArn and RoleSessionName are required")
        if f.get("WebIdentityToken") != args.web_token:
            return error(403, "AccessDenied", "the web identity token is not valid")
        if args.fail_after is not None and served[0] >= args.fail_after:
            return error(503, "ServiceUnavailable", "--fail-after")
        c = load_creds()
        served[0] += 1
        if args.count_file:
            with open(args.count_file, "w") as fh:
                fh.write("%d\n" % served[0])
        self.answer(200, "<AssumeRoleWithWebIdentityResponse><AssumeRoleWithWebIdentityResult>"
                    "<Credentials><AccessKeyId>%s</AccessKeyId><SecretAccessKey>%s</SecretAccessKey>"
                    "<SessionToken>%s</SessionToken><Expiration>%s</Expiration></Credentials>"
                    "<SubjectFromWebIdentityToken>system:serviceaccount:etl:ferry</SubjectFromWebIdentityToken>"
                    "<AssumedRoleUser><Arn>%s/%s</Arn></AssumedRoleUser></AssumeRoleWithWebIdentityResult>"
                    "</AssumeRoleWithWebIdentityResponse>"
                    % (c["AccessKeyId"], c["SecretAccessKey"], c.get("Token", ""), c["Expiration"],
                       f["RoleArn"], f["RoleSessionName"]), "text/xml")

    def assume_role(self, f, error):
        # the request as recorded (--record) is what the test checks; this
        # answers a SigV4-signed (service sts) AssumeRole with --creds
        auth = self.headers.get("Authorization", "")
        if not auth.startswith("AWS4-HMAC-SHA256 Credential=") or "/sts/aws4_request" not in auth:
            return error(403, "IncompleteSignature", "AssumeRole must be SigV4-signed for service sts")
        if not f.get("RoleArn") or not f.get("RoleSessionName"):
            return error(400, "MissingParameter", "RoleArn and RoleSessionName are required")
        c = load_creds()
        self.answer(200, "<AssumeRoleResponse><AssumeRoleResult><Credentials><AccessKeyId>%s</AccessKeyId>"
                    "<SecretAccessKey>%s</SecretAccessKey><SessionToken>%s</SessionToken>"
                    "<Expiration>%s</Expiration></Credentials><AssumedRoleUser><Arn>%s/%s</Arn></AssumedRoleUser>"
                    "</AssumeRoleResult></AssumeRoleResponse>"
                    % (c["AccessKeyId"], c["SecretAccessKey"], c.get("Token", ""), c["Expiration"],
                       f["RoleArn"], f["RoleSessionName"]), "text/xml")

    def do_PUT(self):
        self.slow()
        n = int(self.headers.get("Content-Length") or 0)
        if n:
            self.rfile.read(n)
        if self.path != "/latest/api/token":
            return self.answer(404, "not found")
        ttl = self.headers.get("X-aws-ec2-metadata-token-ttl-seconds")
        if not ttl or not ttl.isdigit() or not 1 <= int(ttl) <= 21600:
            return self.answer(400, "missing or bad X-aws-ec2-metadata-token-ttl-seconds")
        tok = secrets.token_urlsafe(32)
        tokens[tok] = time.monotonic() + int(ttl)
        self.answer(200, tok)

    def do_GET(self):
        self.slow()
        u = urlparse(self.path)
        if u.path == "/latest/api/token":
            return self.answer(405, "use PUT")
        if u.path.startswith("/latest/meta-data/"):
            tok = self.headers.get("X-aws-ec2-metadata-token")
            if not tok or tokens.get(tok, 0) < time.monotonic():
                return self.answer(401, "")
            base = "/latest/meta-data/iam/security-credentials/"
            if u.path == base:
                return self.answer(200, ROLE)
            if u.path == base + ROLE:
                return self.creds_doc(True)
            return self.answer(404, "not found")
        if u.path == "/container/credentials":
            if args.container_token and self.headers.get("Authorization") != args.container_token:
                return self.answer(401, '{"message": "bad Authorization"}', "application/json")
            return self.creds_doc(False)
        if u.path == "/federation/credentials":
            q = parse_qs(u.query)
            if self.headers.get("x-amz-sso_bearer_token") != args.sso_token:
                return self.answer(401, '{"message": "Session token not found or invalid"}', "application/json")
            if not q.get("account_id") or not q.get("role_name"):
                return self.answer(400, '{"message": "account_id and role_name required"}', "application/json")
            c = load_creds()
            served[0] += 1
            exp = calendar.timegm(time.strptime(c["Expiration"][:19], "%Y-%m-%dT%H:%M:%S"))
            doc = {"roleCredentials": {"accessKeyId": c["AccessKeyId"], "secretAccessKey": c["SecretAccessKey"],
                                       "sessionToken": c.get("Token", ""), "expiration": exp * 1000}}
            return self.answer(200, json.dumps(doc), "application/json")
        self.answer(404, "not found")


def main():
    global args
    p = argparse.ArgumentParser()
    p.add_argument("--port-file", required=True)
    p.add_argument("--creds", required=True)
    p.add_argument("--slow", type=float, default=0)
    p.add_argument("--fail-after", type=int, default=None)
    p.add_argument("--count-file")
    p.add_argument("--container-token", default="")
    p.add_argument("--sso-token", default="")
    p.add_argument("--web-token", default="")
    p.add_argument("--record")
    args = p.parse_args()
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.daemon_threads = True
    tmp = args.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % srv.server_address[1])
    os.rename(tmp, args.port_file)
    srv.serve_forever()


if __name__ == "__main__":
    main()
