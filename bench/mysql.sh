#!/usr/bin/env bash
# bench/mysql.sh [ROWS] - MySQL/MariaDB extraction and loads side by side, in
# one run, against the harness's MariaDB, Postgres and Ceph radosgw
# (bash tests/harness/services.sh up), ROWS (default 5,000,000) rows of the
# bench_orders shape (hostile text, DECIMAL(12,2), DATETIME(6), NULLs):
#   (a) mariadb --batch --quick -e "SELECT * …" > /dev/null   the extraction floor
#   (b) ferry copy mydb:bench_orders /dev/null --format csv
#   (c) ferry copy mydb:bench_orders s3://…/orders.csv.gz
#   (d) ferry copy s3://…/orders.csv.gz warehouse:public.bench_my_orders --replace
#   (e) psql -c "\copy bench_my_orders from stdin csv header" < orders.csv   (the same CSV, local)
#   (f) ferry copy orders.csv warehouse:… --replace                         (ferry, same local file)
#   (g) ferry copy s3://…/orders.csv.gz mydb:bench_orders_in --replace
#   (h) mariadb --local-infile -e "LOAD DATA LOCAL INFILE 'orders.csv' …"   (the same CSV, local)
#   (i) ferry copy orders.csv mydb:bench_orders_in --replace                (ferry, same local file)
# Prints a markdown table with wall seconds, MB/s (of CSV), peak RSS and ratios.  Seeding:
# Postgres generates the rows as a CSV in MariaDB's LOAD DATA dialect, loaded
# with LOAD DATA LOCAL.  The bench tables and objects are dropped at the end.
. "$(dirname "$0")/lib.sh"
ROWS=${1:-5000000}
load_env
export AIRFLOW_CONN_MYDB="$MYSQL_URI"
MY=(mariadb --no-defaults --default-character-set=utf8mb4 -h "$MYSQL_HOST" -P "$MYSQL_PORT"
    -u "$MYSQL_USER" -p"$MYSQL_PASSWORD" "$MYSQL_DATABASE")
PSQL=(psql -X -q -v ON_ERROR_STOP=1 "$PG_URI")
KEY=bench/mysql
SEED=$BENCH_DIR/seed.csv
CSV=$BENCH_DIR/orders.csv

cleanup() {
  timeout 300 $S3 s3 rm "s3://$BUCKET/$KEY/" --recursive --only-show-errors >/dev/null 2>&1 || true
  timeout 300 "${MY[@]}" -e "DROP TABLE IF EXISTS bench_orders, bench_orders_in" >/dev/null 2>&1
  timeout 300 "${PSQL[@]}" -c "DROP TABLE IF EXISTS bench_my_orders" >/dev/null 2>&1
  rm -rf "$BENCH_DIR"
}
trap cleanup EXIT

echo "seeding bench_orders ($ROWS rows) in MariaDB..." >&2
# Postgres writes the rows (the bench/pg_to_s3.sh shape) as CSV in the dialect
# LOAD DATA ... ESCAPED BY '' reads exactly: every value quoted, NULL the bare word
SEED_Q=$(tr '\n' ' ' <<'SQL'
SELECT g,
  (ARRAY['Ann','Bob','Zoë Ünïcode','李雷','O''Brien, Pat','Smith "Smitty"','Émile'])[(1 + g % 7)::int] || ' #' || (g % 1000),
  round(((g * 7919) % 10000000) / 100.0, 2) * CASE WHEN g % 13 = 0 THEN -1 ELSE 1 END,
  to_char(timestamp '2024-01-01 00:00:00' + g * interval '6.123456 seconds', 'YYYY-MM-DD HH24:MI:SS.US'),
  CASE g % 12 WHEN 0 THEN 'plain note ' || g WHEN 1 THEN 'comma, separated, note'
    WHEN 2 THEN 'has "double quotes" and ''single'' quotes' WHEN 3 THEN E'multi\nline\nnote'
    WHEN 4 THEN 'unicode: héllo wörld ✓ 日本語 🚀' WHEN 5 THEN E'tab\there, CRLF\r\nend' WHEN 6 THEN ''
    WHEN 7 THEN E'backslash \\ and \\N literal' WHEN 8 THEN '"starts with quote' WHEN 9 THEN 'NULL'
    WHEN 10 THEN NULL ELSE repeat('x', (g % 50)::int) END
FROM generate_series(1::bigint, @N@::bigint) AS g
SQL
)
timeout 3600 "${PSQL[@]}" -c "\\copy (${SEED_Q//@N@/$ROWS}) to '$SEED' with (format csv, null 'NULL', force_quote *)" ||
  { echo "bench: cannot generate the seed CSV" >&2; exit 1; }
timeout 3600 "${MY[@]}" --local-infile=1 >/dev/null <<SQL || { echo "bench: cannot seed MariaDB" >&2; exit 1; }
DROP TABLE IF EXISTS bench_orders, bench_orders_in;
CREATE TABLE bench_orders (id BIGINT NOT NULL PRIMARY KEY, customer VARCHAR(100) NOT NULL,
  amount DECIMAL(12,2) NOT NULL, created_at DATETIME(6) NOT NULL, note TEXT NULL)
  ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
LOAD DATA LOCAL INFILE '$SEED' INTO TABLE bench_orders CHARACTER SET utf8mb4
  FIELDS TERMINATED BY ',' OPTIONALLY ENCLOSED BY '"' ESCAPED BY '' LINES TERMINATED BY '\n';
ANALYZE TABLE bench_orders;
CREATE TABLE bench_orders_in LIKE bench_orders;
SQL
rm -f "$SEED"
COUNT=$(timeout 600 "${MY[@]}" -N -e "SELECT COUNT(*) FROM bench_orders")
[ "$COUNT" = "$ROWS" ] || { echo "bench: seeding gave $COUNT rows, not $ROWS" >&2; exit 1; }
SIZE_DB=$(timeout 60 "${MY[@]}" -N -e "SELECT CONCAT(ROUND((DATA_LENGTH + INDEX_LENGTH) / 1048576), ' MiB') FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'bench_orders'")
timeout 600 "${PSQL[@]}" -c "SET client_min_messages = warning" -c "DROP TABLE IF EXISTS bench_my_orders" \
  -c "CREATE TABLE bench_my_orders (id bigint PRIMARY KEY, customer text NOT NULL, amount numeric(12,2) NOT NULL, created_at timestamp NOT NULL, note text)"

# the client-tool runs, as scripts (no quoting games inside measure)
MYQ=$(printf '%q ' "${MY[@]}")
printf '%s\n' "$MYQ --batch --quick -e 'SELECT * FROM bench_orders' > /dev/null" > "$BENCH_DIR/a.sh"
printf '%s\n' "psql -X -q -v ON_ERROR_STOP=1 '$PG_URI' -c '\\copy bench_my_orders from stdin csv header' < '$CSV'" > "$BENCH_DIR/e.sh"
printf '%s\n' "$MYQ --local-infile=1 -e \"LOAD DATA LOCAL INFILE '$CSV' INTO TABLE bench_orders_in CHARACTER SET utf8mb4 FIELDS TERMINATED BY ',' OPTIONALLY ENCLOSED BY '\\\"' ESCAPED BY '' LINES TERMINATED BY '\\n' IGNORE 1 LINES\"" > "$BENCH_DIR/h.sh"

# ---- extraction
measure a_mariadb bash "$BENCH_DIR/a.sh"
measure b_ferry_null "$FERRY" copy mydb:bench_orders /dev/null --format csv -q
measure c_ferry_s3gz "$FERRY" copy mydb:bench_orders "s3://$BUCKET/$KEY/orders.csv.gz" --replace -q
GZ=$(timeout 60 $S3 s3api head-object --bucket "$BUCKET" --key "$KEY/orders.csv.gz" --query ContentLength --output text 2>/dev/null || echo "?")
# the same CSV, local, for the client tools (and ferry's local runs)
timeout 1800 "$FERRY" copy "s3://$BUCKET/$KEY/orders.csv.gz" "$CSV" -q || { echo "bench: cannot fetch the CSV" >&2; exit 1; }
CSVSIZE=$(stat -c %s "$CSV")

# ---- loads into Postgres (the table is emptied before each run, outside the timing)
measure d_ferry_pg "$FERRY" copy "s3://$BUCKET/$KEY/orders.csv.gz" warehouse:public.bench_my_orders --replace -q
PG_ROWS_D=$(timeout 600 "${PSQL[@]}" -At -c "SELECT count(*) FROM bench_my_orders")
timeout 600 "${PSQL[@]}" -c "TRUNCATE bench_my_orders"
measure e_psql bash "$BENCH_DIR/e.sh"
timeout 600 "${PSQL[@]}" -c "TRUNCATE bench_my_orders"
measure f_ferry_pg_local "$FERRY" copy "$CSV" warehouse:public.bench_my_orders --replace -q

# ---- loads into MariaDB
measure g_ferry_my "$FERRY" copy "s3://$BUCKET/$KEY/orders.csv.gz" mydb:bench_orders_in --replace -q
MY_ROWS_G=$(timeout 600 "${MY[@]}" -N -e "SELECT COUNT(*) FROM bench_orders_in")
timeout 600 "${MY[@]}" -e "TRUNCATE bench_orders_in"
measure h_mariadb bash "$BENCH_DIR/h.sh"
timeout 600 "${MY[@]}" -e "TRUNCATE bench_orders_in"
measure i_ferry_my_local "$FERRY" copy "$CSV" mydb:bench_orders_in --replace -q

cat <<EOT
### MySQL/MariaDB, $ROWS rows ($(date -u +%F), $(machine))

table $SIZE_DB in InnoDB; CSV $CSVSIZE bytes, csv.gz object $GZ bytes; MariaDB 10.11, Postgres 15 and
Ceph radosgw on the same machine, loopback. MB/s = CSV bytes / wall. Rows loaded by ferry: $PG_ROWS_D (Postgres, d), $MY_ROWS_G (MariaDB, g).

| run | what | wall s | MB/s | peak RSS MiB | ratio |
| --- | --- | ---: | ---: | ---: | --- |
| (a) | \`mariadb --batch --quick -e "SELECT * FROM bench_orders" > /dev/null\` | ${WALL[a_mariadb]} | $(mbps "$CSVSIZE" "${WALL[a_mariadb]}") | ${RSS[a_mariadb]} | 1.00 (floor) |
| (b) | \`ferry copy mydb:bench_orders /dev/null --format csv\` | ${WALL[b_ferry_null]} | $(mbps "$CSVSIZE" "${WALL[b_ferry_null]}") | ${RSS[b_ferry_null]} | b/a = $(ratio "${WALL[b_ferry_null]}" "${WALL[a_mariadb]}") |
| (c) | \`ferry copy mydb:bench_orders s3://…/orders.csv.gz\` | ${WALL[c_ferry_s3gz]} | $(mbps "$CSVSIZE" "${WALL[c_ferry_s3gz]}") | ${RSS[c_ferry_s3gz]} | c/a = $(ratio "${WALL[c_ferry_s3gz]}" "${WALL[a_mariadb]}") |
| (d) | \`ferry copy s3://…/orders.csv.gz warehouse:public.bench_my_orders --replace\` | ${WALL[d_ferry_pg]} | $(mbps "$CSVSIZE" "${WALL[d_ferry_pg]}") | ${RSS[d_ferry_pg]} | d/e = $(ratio "${WALL[d_ferry_pg]}" "${WALL[e_psql]}") |
| (e) | \`psql -c "\\copy bench_my_orders from stdin csv header" < orders.csv\` | ${WALL[e_psql]} | $(mbps "$CSVSIZE" "${WALL[e_psql]}") | ${RSS[e_psql]} | 1.00 |
| (f) | \`ferry copy orders.csv warehouse:public.bench_my_orders --replace\` | ${WALL[f_ferry_pg_local]} | $(mbps "$CSVSIZE" "${WALL[f_ferry_pg_local]}") | ${RSS[f_ferry_pg_local]} | f/e = $(ratio "${WALL[f_ferry_pg_local]}" "${WALL[e_psql]}") |
| (g) | \`ferry copy s3://…/orders.csv.gz mydb:bench_orders_in --replace\` | ${WALL[g_ferry_my]} | $(mbps "$CSVSIZE" "${WALL[g_ferry_my]}") | ${RSS[g_ferry_my]} | g/h = $(ratio "${WALL[g_ferry_my]}" "${WALL[h_mariadb]}") |
| (h) | \`mariadb --local-infile -e "LOAD DATA LOCAL INFILE 'orders.csv' INTO TABLE bench_orders_in …"\` | ${WALL[h_mariadb]} | $(mbps "$CSVSIZE" "${WALL[h_mariadb]}") | ${RSS[h_mariadb]} | 1.00 |
| (i) | \`ferry copy orders.csv mydb:bench_orders_in --replace\` | ${WALL[i_ferry_my_local]} | $(mbps "$CSVSIZE" "${WALL[i_ferry_my_local]}") | ${RSS[i_ferry_my_local]} | i/h = $(ratio "${WALL[i_ferry_my_local]}" "${WALL[h_mariadb]}") |
EOT
