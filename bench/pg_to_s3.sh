#!/usr/bin/env bash
# bench/pg_to_s3.sh [ROWS] - Postgres -> S3 side by side, in one run, against
# the harness's Postgres and Ceph radosgw (bash tests/harness/services.sh up):
#   (a) psql \copy to /dev/null               the extraction floor
#   (b) ferry copy table -> s3://…/orders.csv
#   (c) psql \copy | gzip | aws s3 cp -       the pipeline users write today
#   (d) ferry copy table -> s3://…/orders.csv.gz
# plus ferry's peak RSS at 1M rows and at ROWS (default 5,000,000) rows.
# Prints a markdown table with wall seconds, peak RSS and ratios.
. "$(dirname "$0")/lib.sh"
ROWS=${1:-5000000}
load_env
PSQL=(psql -X -q -v ON_ERROR_STOP=1 "$PG_URI")
KEY=bench/pg_to_s3

seed() { # TABLE N: the seed_data shape (hostile text, numeric, timestamptz)
  "${PSQL[@]}" -v n="$2" -v t="$1" <<'SQL'
SET client_min_messages = warning;
DROP TABLE IF EXISTS :t;
CREATE TABLE :t (id bigint PRIMARY KEY, customer text NOT NULL, amount numeric(12,2) NOT NULL,
                 created_at timestamptz NOT NULL, note text);
INSERT INTO :t SELECT g,
  (ARRAY['Ann','Bob','Zoë Ünïcode','李雷','O''Brien, Pat','Smith "Smitty"','Émile'])[(1 + g % 7)::int] || ' #' || (g % 1000),
  round(((g * 7919) % 10000000) / 100.0, 2) * CASE WHEN g % 13 = 0 THEN -1 ELSE 1 END,
  timestamptz '2024-01-01 00:00:00+00' + g * interval '6.123456 seconds',
  CASE g % 12 WHEN 0 THEN 'plain note ' || g WHEN 1 THEN 'comma, separated, note'
    WHEN 2 THEN 'has "double quotes" and ''single'' quotes' WHEN 3 THEN E'multi\nline\nnote'
    WHEN 4 THEN 'unicode: héllo wörld ✓ 日本語 🚀' WHEN 5 THEN E'tab\there, CRLF\r\nend' WHEN 6 THEN ''
    WHEN 7 THEN E'backslash \\ and \\N literal' WHEN 8 THEN '"starts with quote' WHEN 9 THEN 'NULL'
    WHEN 10 THEN NULL ELSE repeat('x', (g % 50)::int) END
FROM generate_series(1::bigint, :n::bigint) AS g;
ANALYZE :t;
SQL
}

echo "seeding bench_orders ($ROWS rows) and bench_orders_1m (1,000,000 rows)..." >&2
seed bench_orders "$ROWS"
seed bench_orders_1m 1000000
Q="SELECT * FROM bench_orders"
BYTES=$("${PSQL[@]}" -At -c "SELECT pg_size_pretty(pg_total_relation_size('bench_orders'))")

measure a_psql bash -c "psql -X '$PG_URI' -c '\\copy ($Q) to stdout csv header' > /dev/null"
measure b_ferry_csv "$FERRY" copy warehouse:public.bench_orders "s3://$BUCKET/$KEY/orders.csv" --replace -q
measure c_pipeline bash -c "set -o pipefail; psql -X '$PG_URI' -c '\\copy ($Q) to stdout csv header' | gzip | $S3 s3 cp - s3://$BUCKET/$KEY/orders_pipe.csv.gz"
measure d_ferry_gz "$FERRY" copy warehouse:public.bench_orders "s3://$BUCKET/$KEY/orders.csv.gz" --replace -q
measure e_ferry_1m "$FERRY" copy warehouse:public.bench_orders_1m "s3://$BUCKET/$KEY/orders_1m.csv" --replace -q
SIZE=$($S3 s3api head-object --bucket "$BUCKET" --key "$KEY/orders.csv" --query ContentLength --output text 2>/dev/null || echo "?")

cat <<EOT
### Postgres → S3, $ROWS rows ($(date -u +%F), $(machine))

table $BYTES on disk, CSV object $SIZE bytes; Postgres 15 and Ceph radosgw 16 on the same machine, loopback.

| run | what | wall s | peak RSS MiB | ratio |
| --- | --- | ---: | ---: | --- |
| (a) | \`psql \\copy … to stdout csv header > /dev/null\` | ${WALL[a_psql]} | ${RSS[a_psql]} | 1.00 (floor) |
| (b) | \`ferry copy warehouse:public.bench_orders s3://…/orders.csv\` | ${WALL[b_ferry_csv]} | ${RSS[b_ferry_csv]} | b/a = $(ratio "${WALL[b_ferry_csv]}" "${WALL[a_psql]}") (target ≤ 1.15) |
| (c) | \`psql \\copy … \| gzip \| aws s3 cp - s3://…\` | ${WALL[c_pipeline]} | (aws ${RSS[c_pipeline]}) | |
| (d) | \`ferry copy … s3://…/orders.csv.gz\` | ${WALL[d_ferry_gz]} | ${RSS[d_ferry_gz]} | c/d = $(ratio "${WALL[c_pipeline]}" "${WALL[d_ferry_gz]}")× faster (target ≥ 2) |
| (e) | ferry, same export of 1,000,000 rows | ${WALL[e_ferry_1m]} | ${RSS[e_ferry_1m]} | RSS 5M/1M = $(ratio "${RSS[b_ferry_csv]}" "${RSS[e_ferry_1m]}") (target within 1.10) |
EOT

$S3 s3 rm "s3://$BUCKET/$KEY/" --recursive --only-show-errors >/dev/null 2>&1 || true
"${PSQL[@]}" -c "DROP TABLE IF EXISTS bench_orders, bench_orders_1m" >/dev/null
