#!/bin/sh
# examples/ec2-cron.sh - a nightly export from an EC2 instance, on the
# instance profile's role: no keys on the machine.  ferry's credential chain
# (docs/hooks/s3.md) ends with IMDSv2 (token PUT, role name, credentials,
# renewed before they expire).  Install with crontab -e:
#   15 2 * * * /opt/ferry/examples/ec2-cron.sh >> /var/log/ferry-orders.log 2>&1
# The Postgres password is in a root-only file (chmod 600) next to it.
set -eu
. /etc/ferry/connections.env       # AIRFLOW_CONN_WAREHOUSE='postgresql://etl:…@db:5432/warehouse'
export AIRFLOW_CONN_AWS_DEFAULT='aws://?region_name=eu-west-1&bucket_name=lake'   # conn test: HeadBucket when ListBuckets is denied
# fail fast when the credentials are not there (exit 3: no source found, 4: refused)
ferry conn test aws_default >/dev/null
exec ferry --logical-date "$(date -u -d yesterday +%F)" copy warehouse:public.orders \
  's3://lake/exports/orders/dt={{ ds }}/orders.csv.gz' --replace --json
