#!/usr/bin/env bash
# examples/nightly.sh - a cron-ready nightly job with ferry:
#   1. wait for the partner's upstream marker file on SFTP (up to 2 h),
#   2. move the partner's CSV files of the day to S3 (each deleted on the SFTP
#      side only once its S3 object is complete and the sizes match); none
#      left (a re-run after a good night) is fine, the step is skipped,
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

# A re-run after a successful night finds the files already moved: that is
# not an error.  ls exits 0 with no output when nothing matches, and nonzero
# on a real problem (no such directory, connection refused), which stops the
# job here (set -e).
PARTNER_FILES='partner:/outbound/*_{{ ds_nodash }}.csv'
pending=$("$FERRY" "${DATE_ARGS[@]}" ls "$PARTNER_FILES")
if [ -z "$pending" ]; then
  echo "nightly: no partner file left to move (already moved by an earlier run?); skipping the move" >&2
else
  "$FERRY" "${DATE_ARGS[@]}" copy "$PARTNER_FILES" "s3://$LAKE/inbound/acme/dt={{ ds }}/" --move
fi

"$FERRY" "${DATE_ARGS[@]}" copy warehouse: \
  --query "SELECT * FROM public.orders WHERE created_at >= {{ data_interval_start }} AND created_at < {{ data_interval_end }} ORDER BY id" \
  "s3://$LAKE/exports/orders/dt={{ ds }}/orders.csv.gz" --replace --json
