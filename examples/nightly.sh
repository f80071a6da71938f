#!/usr/bin/env bash
# examples/nightly.sh - a cron-ready nightly job with ferry:
#   1. wait for the partner's upstream marker file on SFTP (up to 2 h),
#   2. move the partner's CSV files of the day to S3 (each deleted on the SFTP
#      side only once its S3 object is complete and the sizes match),
#   3. export yesterday's orders from Postgres to s3://…/dt={{ ds }}/orders.csv.gz.
#
# crontab:  15 2 * * *  /opt/ferry/examples/nightly.sh >> /var/log/ferry-nightly.log 2>&1
#
# Connections (the same variables an Airflow deployment uses):
#   AIRFLOW_CONN_WAREHOUSE='postgresql://etl:…@db:5432/warehouse?sslmode=verify-full'
#   AIRFLOW_CONN_PARTNER='sftp://acme@sftp.acme.example?key_file=%2Fetc%2Fferry%2Facme_ed25519'
#   AIRFLOW_CONN_AWS_DEFAULT='aws://AKIA…:…@?region_name=eu-west-1'
# Optional: LAKE (bucket, default "lake"), LOGICAL_DATE (default: yesterday, UTC).
set -euo pipefail
FERRY=${FERRY:-ferry}
LAKE=${LAKE:-lake}
DATE_ARGS=()
[ -n "${LOGICAL_DATE:-}" ] && DATE_ARGS=(--logical-date "$LOGICAL_DATE")

"$FERRY" "${DATE_ARGS[@]}" wait 'partner:/outbound/{{ ds_nodash }}.done' --timeout "${WAIT_TIMEOUT:-2h}" --interval 60s

"$FERRY" "${DATE_ARGS[@]}" copy 'partner:/outbound/*_{{ ds_nodash }}.csv' \
  "s3://$LAKE/inbound/acme/dt={{ ds }}/" --move

"$FERRY" "${DATE_ARGS[@]}" copy warehouse: \
  --query "SELECT * FROM public.orders WHERE created_at >= {{ data_interval_start }} AND created_at < {{ data_interval_end }} ORDER BY id" \
  "s3://$LAKE/exports/orders/dt={{ ds }}/orders.csv.gz" --replace --json
