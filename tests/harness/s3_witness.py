#!/usr/bin/env python3
"""s3_witness.py - what S3 says about objects, read with botocore (the aws CLI's
own library) in one process, as the independent witness of the write
attributes tests (tests/integration/s3_attributes.sh): one startup for many
HeadObject / GetObjectTagging / GetObjectAcl calls instead of one aws CLI
process each.

Usage: s3_witness.py BUCKET [--uploads PREFIX] KEY...   (endpoint and keys from CEPH_S3_ENDPOINT,
CEPH_S3_ACCESS_KEY, CEPH_S3_SECRET_KEY, CEPH_S3_REGION)
Prints "KEY FIELD VALUE" lines: exists, type, encoding, class, sse, kmskey,
etag, meta.NAME, tags (sorted "k=v;" pairs), allusers (the AllUsers grant);
with --uploads, "PREFIX uploads N": multipart uploads in progress under PREFIX.
"""
import os
import sys

import botocore.session
from botocore.config import Config
from botocore.exceptions import ClientError


def main():
    bucket, keys = sys.argv[1], sys.argv[2:]
    s = botocore.session.get_session()
    c = s.create_client(
        "s3", endpoint_url=os.environ["CEPH_S3_ENDPOINT"],
        aws_access_key_id=os.environ["CEPH_S3_ACCESS_KEY"],
        aws_secret_access_key=os.environ["CEPH_S3_SECRET_KEY"],
        region_name=os.environ.get("CEPH_S3_REGION", "us-east-1"),
        config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 3}))
    if keys[:1] == ["--uploads"]:
        prefix, keys = keys[1], keys[2:]
        u = c.list_multipart_uploads(Bucket=bucket, Prefix=prefix).get("Uploads") or []
        print(prefix, "uploads", len(u))
    for k in keys:
        out = lambda f, v: print(k, f, "None" if v is None else v)
        try:
            h = c.head_object(Bucket=bucket, Key=k)
        except ClientError:
            out("exists", 0)
            continue
        out("exists", 1)
        out("type", h.get("ContentType"))
        out("encoding", h.get("ContentEncoding"))
        out("class", h.get("StorageClass"))
        out("sse", h.get("ServerSideEncryption"))
        out("kmskey", h.get("SSEKMSKeyId"))
        out("etag", h.get("ETag", "").strip('"'))
        for mk, mv in sorted(h.get("Metadata", {}).items()):
            out("meta." + mk, mv)
        try:
            t = c.get_object_tagging(Bucket=bucket, Key=k).get("TagSet") or []
            out("tags", "".join("%s=%s;" % (x["Key"], x["Value"]) for x in sorted(t, key=lambda x: x["Key"])))
        except Exception as e:  # radosgw 16: an empty body for an object without tags
            out("tags", "")
        acl = c.get_object_acl(Bucket=bucket, Key=k)
        out("allusers", ",".join(sorted(g["Permission"] for g in acl.get("Grants", [])
                                        if g.get("Grantee", {}).get("URI", "").endswith("/global/AllUsers"))) or "none")


if __name__ == "__main__":
    main()
