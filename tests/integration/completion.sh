#!/usr/bin/env bash
# completion.sh - `ferry completion bash|zsh` (cli/cmd_completion.c): the bash
# script is sourced in `bash --norc` and its function _ferry driven as bash
# does it (COMP_WORDS, COMP_CWORD, COMP_LINE, COMP_POINT -> COMPREPLY):
# commands after `ferry `, options after `ferry copy --re`, option values,
# sub-commands, a connection id from AIRFLOW_CONN_* (`ferry conn list`),
# s3://, nothing after CONN_ID:, local paths.  The options offered for each
# command are those of its --help (one source: the generator reads the help
# texts).  The zsh script is checked with `zsh -n` and against the bash
# script's tables when zsh is here (skipped, not failed, when it is not).
# The scripts CMake built for installing are what the program prints.
# Needs no server.
. "$(dirname "$0")/../lib.sh"
BUILD=${FERRY_BUILD_DIR:-$(dirname "$FERRY")}
cd "$WORK"

"$FERRY" completion bash >ferry.bash 2>err.txt; rc=$?
check "ferry completion bash exits 0 and prints a script (exit $rc)" bash -c "[ $rc = 0 ] && [ -s ferry.bash ] && [ ! -s err.txt ]"
check "   ... which bash parses (bash -n)" bash -n ferry.bash
expect_code "ferry completion fish is a usage error (exit 2)" 2 "$FERRY" completion fish
expect_code "ferry completion without a shell is a usage error (exit 2)" 2 "$FERRY" completion
check "ferry completion --help says how to install it" bash -c "'$FERRY' completion --help | grep -q 'bash-completion/completions/ferry'"
if [ -f "$BUILD/completion/ferry" ]; then
  check "the bash completion built for installing is what ferry prints" cmp ferry.bash "$BUILD/completion/ferry"
else
  fail "no $BUILD/completion/ferry (the build generates it)"
fi

# connection ids: from the environment only (no connections file: none in this $HOME)
ID=comptest$$
unset FERRY_CONNECTIONS_FILE
export HOME=$WORK
export AIRFLOW_CONN_${ID^^}='postgresql://u:p@127.0.0.1:1/db'
mkdir -p dir && : >data.csv && : >dir/inner.csv

# comp LINE: complete "ferry LINE" as bash does at the end of the line; COMPREPLY
# one a line in comp.out.  COMP_WORDBREAKS as readline's default unless $WB is set.
comp() {
  WB=${WB-$' \t\n"\'><=;|&(:'} bash --norc -c '
    . "$1"
    COMP_WORDBREAKS=$WB
    COMP_LINE=$2 COMP_POINT=${#2}
    read -ra COMP_WORDS <<<"$2"
    [[ $2 == *" " ]] && COMP_WORDS+=("")
    COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
    _ferry
    printf "%s\n" "${COMPREPLY[@]}"' _ "$WORK/ferry.bash" "$FERRY $1" >comp.out 2>comp.err
}
# offers LINE WORD...: every WORD is offered after LINE
offers() {
  local line=$1 w miss=""; shift
  comp "$line"
  for w; do grep -qxF -- "$w" comp.out || miss="$miss $w"; done
  [ -z "$miss" ] && [ ! -s comp.err ] && ok "'ferry $line' offers $*" \
    || fail "'ferry $line' does not offer$miss" "got: $(tr '\n' ' ' <comp.out)" "$(head -3 comp.err)"
}
# offers_only LINE WORD...: exactly these words
offers_only() {
  local line=$1; shift
  comp "$line"
  local want got
  want=$(printf '%s\n' "$@" | sed '/^$/d' | sort)
  got=$(sort comp.out | sed '/^$/d')
  [ "$want" = "$got" ] && [ ! -s comp.err ] && ok "'ferry $line' offers exactly: ${*:-nothing}" \
    || fail "'ferry $line' offers: $(echo $got) (want: ${*:-nothing})" "$(head -3 comp.err)"
}

# -- commands: those of `ferry --help` (its Commands: section), and help
"$FERRY" --help >help_main.txt
cmds=$(awk '/^Commands:/{c=1; next} c && /^[^ ]/{c=0} c && /^  [a-z]/{print $1}' help_main.txt | sort -u)
# shellcheck disable=SC2086
offers_only "" help $cmds
offers_only "co" copy conn completion
offers_only "conn " list get test
offers_only "completion " bash zsh
offers "help " copy conn exec

# -- options
offers "copy --re" --replace --retries --recursive --resume
comp "copy --re"
check "   ... and only options starting --re" bash -c "[ -s comp.out ] && ! grep -qv '^--re' comp.out"
offers "copy -" -q --quiet --help --log-level --param
offers "--log" --log-level --log-format
offers "conn get --" --help
# every option line of every command's --help is offered, and nothing that help does not name
for c in $cmds; do
  "$FERRY" "$c" --help >"help_$c.txt" 2>&1
  # option lines ("  -q, --quiet  ...") and the options of usage lines (up to their summary)
  { grep -oE '^  (-[a-zA-Z], )?--?[a-zA-Z][a-z0-9-]*' "help_$c.txt" | tr ',' '\n'
    grep -E '^ *(usage: )?ferry ' "help_$c.txt" | sed 's/   .*//' | grep -oE '(^| |\[)--?[a-zA-Z][a-z0-9-]*'
  } | sed 's/^[[ ]*//' | sed '/^$/d' | sort -u >"want_$c"
  comp "$c -"
  sort -u comp.out >got_$c
  missing=$(comm -23 "want_$c" "got_$c" | tr '\n' ' ')
  invented=""
  for o in $(comm -13 "want_$c" "got_$c"); do
    grep -qE -- "(^|[^a-z-])$o([^a-z0-9-]|\$)" "help_$c.txt" help_main.txt || [ "$o" = --help ] || invented="$invented $o"
  done
  [ -z "$missing$invented" ] && ok "   ... 'ferry $c -' offers the $(wc -l <"want_$c") options of 'ferry $c --help', and no other but the global ones" \
    || fail "'ferry $c -': options of its --help not offered: ${missing:-none}; offered but in no --help: ${invented:-none}"
done

# -- option values
offers_only "copy --format " csv tsv jsonl parquet
offers_only "--log-level " error warn info debug
offers_only "copy a b --log-level d" debug
offers "copy --compress " gzip zstd none
offers_only "copy --s3-conn $ID" "$ID"
offers_only "copy --query-file da" data.csv
offers_only "copy --retries " ""

# -- endpoints: connection ids (from ferry conn list), s3://, local paths
offers "copy " "$ID:" s3:// data.csv dir/
offers "copy $ID: " "$ID:" s3://
offers_only "copy ${ID:0:6}" "$ID:"
offers_only "copy s3" s3://
offers_only "cat d" data.csv dir/
offers_only "copy $ID:" ""
offers_only "copy $ID:public.or" ""
offers_only "copy s3:" //                 # readline replaces only what follows the ':'
WB=$' \t\n' offers_only "copy s3:" s3://  # ... unless ':' does not break words
offers_only "conn get ${ID:0:6}" "$ID"
offers_only "exec ${ID:0:6}" "$ID:"
offers_only "exec $ID: " ""
offers_only "version " ""

# -- zsh
"$FERRY" completion zsh >_ferry 2>err.txt; rc=$?
check "ferry completion zsh exits 0 and prints a #compdef script" bash -c "[ $rc = 0 ] && head -1 _ferry | grep -qx '#compdef ferry'"
check "   ... with the bash script's tables" bash -c \
  "diff <(grep '^_ferry_[a-z]*\\[\\|^_ferry_cmds=' ferry.bash) <(grep '^_ferry_[a-z]*\\[\\|^_ferry_cmds=' _ferry)"
if [ -f "$BUILD/completion/_ferry" ]; then
  check "the zsh completion built for installing is what ferry prints" cmp _ferry "$BUILD/completion/_ferry"
else
  fail "no $BUILD/completion/_ferry (the build generates it)"
fi
if command -v zsh >/dev/null; then
  check "zsh -n parses the zsh completion" zsh -n _ferry
  check "   ... sourced outside compinit it registers _ferry for ferry (compdef)" zsh -f -c \
    'compdef() { [[ "$*" == "_ferry ferry" ]] && print registered; }; source ./_ferry >zsh.out && grep -qx registered zsh.out && whence -w _ferry | grep -q function'
else
  skip "zsh is not installed: the zsh script is not parsed (scripts/install-deps.sh installs zsh)"
fi
finish
