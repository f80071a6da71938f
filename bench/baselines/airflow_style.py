#!/usr/bin/python3
"""bench/baselines/airflow_style.py - the Airflow way of Postgres -> S3, as a
benchmark baseline for bench/run_all.sh (never a ferry test).

What Airflow's SqlToS3Operator does with a PostgresHook and an S3Hook:
  1. PostgresHook.get_pandas_df(): psycopg2 runs the query and materialises
     every row in memory (here cursor.fetchall(), the honest stand-in for the
     DataFrame: no pandas in Debian's minimal set, and a DataFrame only adds);
  2. DataFrame.to_csv(NamedTemporaryFile, compression="gzip" or None): here the
     csv module into a NamedTemporaryFile, through gzip.open() at Python's
     default compresslevel (9, what pandas uses when no level is given);
  3. S3Hook.load_file(): boto3's client.upload_file() of that file (managed
     transfer: 8 MiB multipart threshold and parts, 10 threads).

Usage (Debian's python3-psycopg2 and python3-boto3; the harness env gives the
rest, see bench/run_all.sh):
  /usr/bin/python3 bench/baselines/airflow_style.py DSN TABLE_OR_QUERY s3://BUCKET/KEY

KEY ending in .gz compresses.  The S3 endpoint and credentials come from
S3_ENDPOINT (or AWS_ENDPOINT_URL), AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and
AWS_DEFAULT_REGION.  Prints one line: rows and object bytes.
Exit status: 0 ok, 2 usage, 1 anything else (the traceback says what).
"""
import csv
import gzip
import os
import sys
import tempfile

import boto3
import psycopg2


def main(argv):
    if len(argv) != 4 or not argv[3].startswith("s3://") or "/" not in argv[3][5:]:
        sys.stderr.write(__doc__.split("\n\n")[2] + "\n")
        return 2
    dsn, what, url = argv[1:4]
    bucket, key = url[5:].split("/", 1)
    # a bare table name becomes SELECT * FROM it (SqlToS3Operator takes a query)
    query = what if " " in what.strip() else f"SELECT * FROM {what}"
    gz = key.endswith(".gz")

    # 1. PostgresHook: one connection, the whole result set in memory
    conn = psycopg2.connect(dsn)
    try:
        cur = conn.cursor()
        cur.execute(query)
        rows = cur.fetchall()
        header = [d[0] for d in cur.description]
        cur.close()
    finally:
        conn.close()

    # 2. to_csv into a temporary file (gzip through the gzip module)
    with tempfile.NamedTemporaryFile(suffix=".csv.gz" if gz else ".csv") as tmp:
        raw = gzip.open(tmp.name, "wt", newline="", encoding="utf-8") if gz \
            else open(tmp.name, "w", newline="", encoding="utf-8")
        with raw as f:
            w = csv.writer(f, lineterminator="\n")  # pandas to_csv writes \n
            w.writerow(header)
            w.writerows(rows)
        n = len(rows)
        del rows

        # 3. S3Hook.load_file -> client.upload_file (boto3's managed transfer)
        s3 = boto3.client(
            "s3",
            endpoint_url=os.environ.get("AWS_ENDPOINT_URL") or os.environ.get("S3_ENDPOINT"),
            region_name=os.environ.get("AWS_DEFAULT_REGION", "us-east-1"),
        )
        s3.upload_file(tmp.name, bucket, key)
        size = os.path.getsize(tmp.name)

    print(f"airflow_style: {n} rows, object {size} bytes -> s3://{bucket}/{key}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
