#!/usr/bin/env bash
# docs_truth.sh - the docs and examples say what is true (issue #17 point 8):
#   * examples/kubernetes/Dockerfile builds from scripts/build-packages.txt, the
#     list scripts/install-deps.sh installs (--print-build-packages), and names
#     no build package of its own (they cannot drift); its runtime stage holds
#     the Debian package of every library ferry and libferry link directly;
#   * the exit codes of README.md, `ferry --help` and docs/ferry.1 agree
#     (same codes, each saying the same thing in substance);
#   * every option of `ferry --help` and `ferry COMMAND --help` is in docs/ferry.1;
#   * docs/hooks: sftp.md gives 4 for a refused connection, s3.md names CRC32C,
#     http.md does not call a '?' a glob (and ferry copy does not treat it so);
#   * examples/airflow's move task tolerates "nothing to move" as
#     examples/nightly.sh does (run with a stub ferry) and still fails on a
#     real error; no compiled Python file is committed.
# Needs no server.
. "$(dirname "$0")/../lib.sh"
SRC=${FERRY_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
BUILD=${FERRY_BUILD_DIR:-$SRC/build}
PY=$SRC/tests/docs_truth.py
cd "$WORK"

# ---------------------------------------------------------------- build packages
LIST=$SRC/scripts/build-packages.txt
DOCKER=$SRC/examples/kubernetes/Dockerfile
sed -e 's/#.*//' -e 's/[[:space:]]//g' -e '/^$/d' "$LIST" > listed
bash "$SRC/scripts/install-deps.sh" --print-build-packages > printed 2> err
check "install-deps.sh --print-build-packages is scripts/build-packages.txt" bash -c "[ -s listed ] && cmp listed printed"
for p in libzstd-dev libisal-dev libpq-dev libcurl4-openssl-dev libssh2-1-dev libmariadb-dev libjansson-dev; do
  grep -qx "$p" listed && ok "   ... the list has $p" || fail "   ... the list lacks $p"
done
awk '/^FROM .* AS build/{b=1; next} /^FROM /{b=0} b' "$DOCKER" > build_stage
awk '/^FROM /{n++} n==2' "$DOCKER" > run_stage
check "the Dockerfile's build stage copies scripts/build-packages.txt" grep -q '^COPY scripts/build-packages.txt ' build_stage
check "   ... and apt-get installs from it" bash -c "grep -q 'apt-get install.*' build_stage && grep -q 'build-packages.txt)' build_stage"
awk '/apt-get install/{a=1} a{print} a && !/\\$/{a=0}' build_stage > apt_lines
own=$(tr -s ' \\\t' '\n' < apt_lines | grep -xF -f listed | sort -u | tr '\n' ' ')
[ -z "$own" ] && ok "   ... and names none of those packages itself" || fail "the build stage names packages itself: $own"
# the Dockerfile's own expression, run on the list, gives the list
expr=$(grep -o '\$(sed [^)]*)' build_stage | head -1)
if [ -n "$expr" ]; then
  pat=/tmp/build-packages.txt
  got=$(eval "echo ${expr//"$pat"/"$LIST"}" | tr -s ' ' '\n' | sed '/^$/d')
  [ "$got" = "$(cat listed)" ] && ok "   ... its expression yields exactly the list" || fail "the build stage's expression yields: $got"
else
  fail "no \$(sed …) expression in the build stage"
fi
if command -v objdump >/dev/null && command -v dpkg >/dev/null && [ -x "$BUILD/ferry" ]; then
  missing=""
  for bin in "$BUILD/ferry" "$BUILD"/libferry.so; do
    [ -e "$bin" ] || continue
    for lib in $(objdump -p "$bin" | awk '/NEEDED/{print $2}'); do
      pkg=$(dpkg -S "*/$lib" 2>/dev/null | grep -v -e '^[^:]*-i386:' -e '^lib32' -e '^libx32' | head -1 | cut -d: -f1)
      case $pkg in
        '') missing="$missing ?($lib: no Debian package found)"; continue ;;
        libc6) continue ;;   # in every Debian image
        libasan*|libubsan*) continue ;;   # the sanitizer build's runtime, not the image's
      esac
      grep -qw -- "$pkg" run_stage || missing="$missing $pkg($lib)"
    done
  done
  [ -z "$missing" ] && ok "the runtime stage installs every library ferry links" || fail "the runtime stage lacks:$missing"
else
  skip "runtime libraries of the Dockerfile (no objdump/dpkg or no build)"
fi

# ---------------------------------------------------------------- exit codes and options
"$FERRY" --help > help_main.txt 2>&1
if python3 "$PY" exit-codes "$SRC/README.md" help_main.txt "$SRC/docs/ferry.1" > .out 2>&1; then
  ok "README.md, ferry --help and docs/ferry.1 list the same exit codes, same meanings"
else
  fail "the exit-code lists disagree" "$(cat .out)"
fi
helps=(help_main.txt)
cmds=$(awk '/^Commands:/{c=1; next} c && /^[^ ]/{c=0} c && /^  [a-z]/{print $1}' help_main.txt | sort -u)
[ -n "$cmds" ] && ok "ferry --help lists commands: $(echo $cmds)" || fail "no commands in ferry --help"
for c in $cmds; do
  [ "$c" = version ] && continue   # prints the version, has no options
  "$FERRY" "$c" --help > "help_$c.txt" 2>&1; rc=$?
  [ $rc = 0 ] && [ -s "help_$c.txt" ] || fail "ferry $c --help (exit $rc)" "$(head -3 "help_$c.txt")"
  helps+=("help_$c.txt")
done
if python3 "$PY" options "$SRC/docs/ferry.1" "${helps[@]}" > .out 2>&1; then
  ok "every option of ferry --help and ferry COMMAND --help (${#helps[@]} helps) is in docs/ferry.1"
else
  fail "options missing from docs/ferry.1" "$(cat .out)"
fi

# ---------------------------------------------------------------- hook docs
H=$SRC/docs/hooks
refused=$(grep -i '^|.*refused' "$H/sftp.md")
[ -n "$refused" ] && ! grep -qi '^|.*refused.*| *8 *|' "$H/sftp.md" && grep -qi '^|.*refused.*| *4 *|' "$H/sftp.md" \
  && ok "sftp.md: a refused connection is exit 4 (exit_codes.sh checks the product)" \
  || fail "sftp.md's exit table for a refused connection" "$refused"
check "   ... and its text does not say exit 8 after refused connections" bash -c "! grep -A2 -i 'Refused, unreachable' '$H/sftp.md' | grep -q 'exit 8'"
check "s3.md no longer says there are no checksums other than MD5 / SHA-256" bash -c "! grep -qi 'checksums other than MD5' '$H/s3.md'"
check "   ... its Limits name CRC32C" bash -c "sed -n '/^## Limits/,/^## /p' '$H/s3.md' | grep -qi crc32c"
check "   ... and --checksum crc32c exists (ferry copy --help)" grep -q 'crc32c' help_copy.txt
check "http.md does not call a '?' in a URL a glob / multi-file request" \
  bash -c "! tr '\\n' ' ' < '$H/http.md' | grep -Eqi 'treats a .\\?. [^.]*(glob|multi-file)'"
# and the product agrees: a dry run of a URL with a query plans one file
FERRY_T() { timeout -k 5 30 "$FERRY" "$@"; }
FERRY_T copy --dry-run 'http://127.0.0.1:9/data.csv?page=2&x=*' out.csv > .out 2>&1
if grep -q 'would copy every file' .out; then fail "copy --dry-run of a URL with '?' planned many files" "$(head -3 .out)"
else ok "   ... ferry copy --dry-run 'http://…/data.csv?page=2' plans one file, not a glob"; fi

# ---------------------------------------------------------------- examples/airflow
check "no compiled Python file is committed" bash -c "cd '$SRC' && ! git ls-files | grep -Eq '(__pycache__/|\\.py[co]\$)'"
check "   ... and .gitignore keeps them out" bash -c "cd '$SRC' && git check-ignore -q examples/airflow/__pycache__/x.pyc"
if python3 "$PY" dag-move "$SRC/examples/airflow/ferry_dag.py" > move.sh 2> .out; then
  mkdir -p stub
  # a stub ferry: `ls` prints $STUB_LS and exits $STUB_LS_RC; every call is logged
  cat > stub/ferry <<'SH'
#!/usr/bin/env bash
echo "$*" >> "$STUB_LOG"
for a; do [ "$a" = ls ] && { [ -n "$STUB_LS" ] && echo "$STUB_LS"; exit "${STUB_LS_RC:-0}"; }; done
exit 0
SH
  chmod +x stub/ferry
  run_move() { PATH="$WORK/stub:$PATH" STUB_LOG="$WORK/calls" timeout 30 bash move.sh > move.out 2>&1; }
  : > calls; STUB_LS="" STUB_LS_RC=0 run_move; rc=$?
  [ $rc = 0 ] && ! grep -q ' copy ' calls && grep -qi 'no partner file left' move.out \
    && ok "airflow DAG: nothing to move is not an error (exit 0, says so, no copy)" \
    || fail "airflow DAG with nothing to move (exit $rc)" "$(cat move.out calls)"
  : > calls; STUB_LS="partner:/outbound/a_20240229.csv" STUB_LS_RC=0 run_move; rc=$?
  [ $rc = 0 ] && grep -q "copy partner:/outbound/\*_20240229.csv s3://lake/inbound/acme/dt=2024-02-29/ --move" calls \
    && ok "   ... with files it moves them (copy … --move)" || fail "airflow DAG with files (exit $rc)" "$(cat move.out calls)"
  : > calls; STUB_LS="" STUB_LS_RC=4 run_move; rc=$?
  [ $rc != 0 ] && ! grep -q ' copy ' calls && ok "   ... a failing ls (exit 4) still fails the task" \
    || fail "airflow DAG: a failing ls did not fail the task (exit $rc)" "$(cat calls)"
else
  fail "cannot read the move task of examples/airflow/ferry_dag.py" "$(cat .out)"
fi

finish
