#!/usr/bin/env bash
# scripts/demo.sh - ferry's main job end to end on this machine: installs the
# dependencies, builds ferry, starts a local PostgreSQL and a Ceph radosgw S3
# server on 127.0.0.1, creates a sample `orders` table, and runs the nightly
# export the way cron or Airflow would: yesterday's key, gzip from the name,
# atomic publish.  Then lists the bucket and prints the head of the object.
# The servers keep running afterwards; stop them with
#   bash tests/harness/services.sh down
set -euo pipefail
cd "$(dirname "$0")/.."
ROWS=${ROWS:-200000}
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

say "installing dependencies (Debian packages, idempotent)"
bash scripts/install-deps.sh
say "building ferry"
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)" >/dev/null
FERRY=$PWD/build/ferry
"$FERRY" --version

say "starting local PostgreSQL and Ceph radosgw (127.0.0.1 only)"
bash tests/harness/services.sh up >/dev/null
set -a; . /tmp/ferry-svc/env; set +a

# Airflow-style connections: the same variables an Airflow deployment would use
export AIRFLOW_CONN_WAREHOUSE="$PG_URI"
enc() { python3 -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1], safe=""))' "$1"; }
export AIRFLOW_CONN_AWS_DEFAULT="aws://$(enc "$CEPH_S3_ACCESS_KEY"):$(enc "$CEPH_S3_SECRET_KEY")@?region_name=$CEPH_S3_REGION&endpoint_url=$(enc "$CEPH_S3_ENDPOINT")"

say "creating a sample table public.orders with $ROWS rows"
"$FERRY" exec warehouse: "
  DROP TABLE IF EXISTS public.orders;
  CREATE TABLE public.orders (id bigint PRIMARY KEY, customer text NOT NULL,
                              amount numeric(12,2) NOT NULL, created_at timestamptz NOT NULL, note text);
  INSERT INTO public.orders
  SELECT g, (ARRAY['Ann','Bob','Zoë','李雷','O''Brien, Pat'])[1 + g % 5],
         round((g * 7919 % 100000) / 100.0, 2),
         timestamptz '2026-11-21 00:00:00+00' + g * interval '0.4 s',
         CASE g % 4 WHEN 0 THEN NULL WHEN 1 THEN 'comma, \"quote\"' WHEN 2 THEN E'multi\nline' ELSE '' END
  FROM generate_series(1, $ROWS) g;" -q

DS=$(date -u -d yesterday +%F)
KEY="s3://$CEPH_S3_BUCKET/exports/dt=$DS/orders.csv.gz"
say "nightly export: ferry copy warehouse:public.orders $KEY --replace"
"$FERRY" copy warehouse:public.orders "$KEY" --replace

say "what is in the bucket"
"$FERRY" ls "s3://$CEPH_S3_BUCKET/exports/" --recursive --long
say "the first lines of the object"
"$FERRY" cat "$KEY" --decompress 2>/dev/null | head -n 5 || true  # head closes the pipe: exit 9 is expected
say "done - the servers are still running; stop them with: bash tests/harness/services.sh down"
