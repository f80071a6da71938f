"""
examples/airflow/ferry_dag.py - the nightly job of examples/nightly.sh as an
Airflow DAG of BashOperator tasks. ferry reads the same AIRFLOW_CONN_*
connections Airflow does, so one set of definitions serves both; Airflow
renders {{ ds }} in bash_command before ferry runs, and ferry's own
--logical-date keeps both in step for anything ferry templates itself.

Exit codes map onto task outcomes: 0 success; 6 (destination exists) and
10 (sensor timeout) are worth alerting on separately; 8 (transient after
retries) is the one where Airflow's own retries make sense.
"""
from datetime import datetime, timedelta

from airflow import DAG
from airflow.operators.bash import BashOperator

FERRY = "ferry"
LAKE = "lake"
DATE = "--logical-date {{ ds }}"

with DAG(
    dag_id="ferry_nightly",
    schedule="@daily",
    start_date=datetime(2026, 11, 1),
    catchup=False,
    default_args={"retries": 2, "retry_delay": timedelta(minutes=5)},
    tags=["ferry"],
) as dag:
    wait_partner = BashOperator(
        task_id="wait_partner_marker",
        bash_command=f"{FERRY} {DATE} wait 'partner:/outbound/{{{{ ds_nodash }}}}.done' "
        "--timeout 2h --interval 60s",
    )

    # A re-run after a good night finds the files already moved: not an error
    # (as in examples/nightly.sh). `ferry ls` exits 0 with no output when
    # nothing matches and nonzero on a real problem (no such directory,
    # connection refused), which fails the task (set -e).
    move_partner_files = BashOperator(
        task_id="move_partner_files_to_s3",
        bash_command="set -euo pipefail; "
        f"files='partner:/outbound/*_{{{{ ds_nodash }}}}.csv'; "
        f"pending=$({FERRY} {DATE} ls \"$files\"); "
        'if [ -z "$pending" ]; then '
        'echo "no partner file left to move (already moved by an earlier run?); skipping the move"; '
        f"else {FERRY} {DATE} copy \"$files\" s3://{LAKE}/inbound/acme/dt={{{{ ds }}}}/ --move; fi",
    )

    # {{ '{{' }} … {{ '}}' }} leaves "{{ data_interval_start }}" for ferry itself to
    # expand, so it goes into the SQL as a quoted literal.
    export_orders = BashOperator(
        task_id="export_orders",
        bash_command=f"{FERRY} {DATE} copy warehouse: "
        "--query \"SELECT * FROM public.orders WHERE created_at >= {{ '{{' }} data_interval_start {{ '}}' }} "
        "AND created_at < {{ '{{' }} data_interval_end {{ '}}' }}\" "
        f"s3://{LAKE}/exports/orders/dt={{{{ ds }}}}/orders.csv.gz --replace --json",
    )

    wait_partner >> move_partner_files
    export_orders  # independent of the partner files
