/*
 * cmd_completion.c - `ferry completion bash|zsh`: print a shell completion
 * script (as `kubectl completion bash` does; the package installs both).
 *
 * One source of truth: the script's tables are read from the help texts the
 * program prints, at the moment it is generated - `ferry help` gives the
 * commands (its "Commands:" section: NAME, sub-commands written a|b or on
 * lines of their own, the argument placeholders, the summary) and the global
 * options; `ferry COMMAND [SUB] --help` gives each command's options.  An
 * option added to a --help text is completed; one missing from it is not.
 * What the help texts write, and what is read from them:
 *   "  -q, --quiet   text"      an option line: two spaces, the names, then two
 *   "  --query SQL   text"      spaces; a word after one space is its value
 *   "usage: ferry ls ENDPOINT [--recursive] [--long]"    a usage line (also a
 *   "       ferry exec CONN: --file FILE [--json | --json-typed]"   following
 *                              "ferry ..." line): "[--x V]" and "--x V" take a
 *                              value, "[--x]" and "--x |" do not
 * A value written a|b|c completes to those words, FILE to file names, ID to
 * connection ids; the argument placeholders ID, CONN:, SQL, COMMAND and the
 * endpoints (anything else) decide what the positional words complete to.
 * Connection ids come from `ferry conn list`, run quietly at completion time.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"
#include "cli/cli.h"

static const char completion_help[] =
    "usage: ferry completion bash|zsh\n"
    "Prints the shell completion script for bash or zsh on stdout: commands,\n"
    "sub-commands, each command's options, connection ids (from 'ferry conn list')\n"
    "and the s3:// and CONN:PATH endpoint prefixes.\n"
    "  bash: source <(ferry completion bash)  (or save it as\n"
    "        /usr/share/bash-completion/completions/ferry)\n"
    "  zsh:  ferry completion zsh > \"${fpath[1]}/_ferry\"  (the package installs\n"
    "        /usr/share/zsh/vendor-completions/_ferry)\n";

#define MAX_OPTS 128
#define MAX_CMDS 48

typedef struct comp_opt {
    char name[48];
    char kind[96]; /* "" a flag, else "file", "id", "a|b|c" or "-" (a value, nothing to offer) */
} comp_opt;

typedef struct comp_set {
    comp_opt v[MAX_OPTS];
    int n;
} comp_set;

typedef struct comp_cmd {
    char key[64];     /* "copy", "conn/get" */
    char desc[128];   /* the summary of the "Commands:" line */
    char subs[128];   /* sub-command names, space separated */
    char args[128];   /* positional kinds: endpoint id conn none command, space separated */
    comp_set opts;
} comp_cmd;

/* What `ferry ARGV...` prints on stdout (--help texts), malloc'd; NULL on failure. */
static char *help_of(int argc, const char *const *args)
{
    char *argv[8] = {NULL};
    char copies[8][64];
    for (int i = 0; i < argc && i < 7; i++) {
        snprintf(copies[i], sizeof copies[i], "%s", args[i]);
        argv[i] = copies[i];
    }
    char *text = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&text, &len);
    if (!mem)
        return NULL;
    FILE *saved = stdout;
    fflush(stdout);
    stdout = mem; /* glibc: stdout is an ordinary variable */
    cli_dispatch(argc, argv);
    stdout = saved;
    fclose(mem);
    return text;
}

static int only_chars(const char *s, size_t n, const char *allowed)
{
    for (size_t i = 0; i < n; i++)
        if (!strchr(allowed, s[i]))
            return 0;
    return n > 0;
}

/* What a value placeholder offers: a|b|c, FILE, ID, or nothing ("-"). */
static void value_kind(const char *arg, size_t n, char *out, size_t cap)
{
    while (n && (arg[n - 1] == ']' || arg[n - 1] == ','))
        n--;
    if (only_chars(arg, n, "abcdefghijklmnopqrstuvwxyz0123456789|-") && memchr(arg, '|', n))
        snprintf(out, cap, "%.*s", (int)n, arg);
    else if (n >= 4 && memcmp(arg + n - 4, "FILE", 4) == 0)
        snprintf(out, cap, "file");
    else if (n == 2 && memcmp(arg, "ID", 2) == 0)
        snprintf(out, cap, "id");
    else
        snprintf(out, cap, "-");
}

static void add_opt(comp_set *s, const char *name, size_t n, const char *arg, size_t arg_n)
{
    if (n < 2 || n >= sizeof s->v[0].name || !only_chars(name, n, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-"))
        return;
    comp_opt *o = NULL;
    for (int i = 0; i < s->n && !o; i++)
        if (strlen(s->v[i].name) == n && memcmp(s->v[i].name, name, n) == 0)
            o = &s->v[i];
    if (!o) {
        if (s->n == MAX_OPTS)
            return;
        o = &s->v[s->n++];
        snprintf(o->name, sizeof o->name, "%.*s", (int)n, name);
        o->kind[0] = '\0';
    }
    if (arg && arg_n && !o->kind[0])
        value_kind(arg, arg_n, o->kind, sizeof o->kind);
}

/* "  -q, --quiet   text", "  --header 'Name: value'  text": names, then a value up to two spaces. */
static void parse_option_line(comp_set *s, const char *p, const char *eol)
{
    const char *names[4];
    size_t lens[4];
    int k = 0;
    while (p < eol && *p == '-' && k < 4) {
        const char *t = p;
        while (p < eol && *p != ' ' && *p != ',' && *p != '=')
            p++;
        names[k] = t;
        lens[k++] = (size_t)(p - t);
        if (p + 2 < eol && p[0] == ',' && p[1] == ' ' && p[2] == '-')
            p += 2;
        else
            break;
    }
    const char *arg = NULL;
    size_t arg_n = 0;
    if (p < eol && (*p == '=' || (*p == ' ' && p + 1 < eol && p[1] != ' '))) {
        arg = ++p;
        while (p < eol && !(p[0] == ' ' && p + 1 < eol && p[1] == ' '))
            p++;
        arg_n = (size_t)(p - arg);
        /* "  --format FMT   csv|tsv|jsonl (default ...)": the choices begin the text */
        while (p < eol && *p == ' ')
            p++;
        const char *w = p;
        while (p < eol && *p != ' ')
            p++;
        size_t wn = (size_t)(p - w);
        if (wn && (w[wn - 1] == ':' || w[wn - 1] == ','))
            wn--;
        if (memchr(w, '|', wn) && only_chars(w, wn, "abcdefghijklmnopqrstuvwxyz0123456789|-"))
            arg = w, arg_n = wn;
    }
    for (int i = 0; i < k; i++)
        add_opt(s, names[i], lens[i], arg, arg_n);
}

/* A usage line, up to its first two spaces (a summary may follow). */
static void parse_usage_line(comp_set *s, const char *p, const char *eol)
{
    const char *end = strstr(p, "  ");
    if (end && end < eol)
        eol = end;
    while (p < eol) {
        while (p < eol && *p == ' ')
            p++;
        const char *t = p;
        while (p < eol && *p != ' ')
            p++;
        const char *te = p;
        while (t < te && *t == '[')
            t++;
        if (te - t < 2 || t[0] != '-' || t[1] == ' ')
            continue;
        const char *ne = t;
        while (ne < te && *ne != ']' && *ne != '|' && *ne != '=')
            ne++;
        /* the next word is the value unless this one closed its bracket or an alternative follows */
        const char *v = p;
        while (v < eol && *v == ' ')
            v++;
        const char *ve = v;
        while (ve < eol && *ve != ' ')
            ve++;
        int value = ne == te && v < ve && *v != '[' && *v != '-' && *v != '|';
        add_opt(s, t, (size_t)(ne - t), value ? v : NULL, value ? (size_t)(ve - v) : 0);
        if (value)
            p = ve;
    }
}

/* Every option a help text names (see the top of the file). */
static void parse_help(comp_set *s, const char *text)
{
    int in_usage = 0;
    for (const char *p = text; p && *p;) {
        const char *eol = strchr(p, '\n');
        if (!eol)
            eol = p + strlen(p);
        const char *q = p;
        while (q < eol && *q == ' ')
            q++;
        if (strncmp(q, "usage: ferry", 12) == 0 || (in_usage && strncmp(q, "ferry ", 6) == 0)) {
            in_usage = 1;
            parse_usage_line(s, q, eol);
        } else {
            in_usage = 0;
            if (q - p == 2 && *q == '-')
                parse_option_line(s, q, eol);
        }
        p = *eol ? eol + 1 : eol;
    }
}

static void append_word(char *dst, size_t cap, const char *w, size_t n)
{
    size_t len = strlen(dst);
    if (len + n + 2 > cap)
        return;
    if (len)
        dst[len++] = ' ';
    memcpy(dst + len, w, n);
    dst[len + n] = '\0';
}

/* A positional placeholder's kind. */
static const char *arg_kind(const char *w, size_t n)
{
    if (n == 2 && memcmp(w, "ID", 2) == 0)
        return "id";
    if (n == 5 && memcmp(w, "CONN:", 5) == 0)
        return "conn";
    if (n == 3 && memcmp(w, "SQL", 3) == 0)
        return "none";
    if (n == 7 && memcmp(w, "COMMAND", 7) == 0)
        return "command";
    return "endpoint";
}

/* "NAME/SUB" into out (cut to fit). */
static void make_key(char *out, size_t cap, const char *name, const char *sub, size_t sub_n)
{
    size_t n = strlen(name);
    if (n + 1 + sub_n >= cap)
        n = sub_n = 0;
    memcpy(out, name, n);
    out[n] = '/';
    memcpy(out + n + 1, sub, sub_n);
    out[n + 1 + sub_n] = '\0';
}

static comp_cmd *find_cmd(comp_cmd *cmds, int n, const char *key)
{
    for (int i = 0; i < n; i++)
        if (strcmp(cmds[i].key, key) == 0)
            return &cmds[i];
    return NULL;
}

/* The "Commands:" section of `ferry help`: "  conn get ID   show a connection". */
static int parse_commands(const char *usage, comp_cmd *cmds, int max)
{
    const char *p = strstr(usage, "\nCommands:\n");
    int n = 0;
    if (!p)
        return 0;
    for (p = strchr(p + 1, '\n') + 1; *p == ' '; ) {
        const char *eol = strchr(p, '\n');
        if (!eol)
            eol = p + strlen(p);
        const char *q = p + 2;
        if (q < eol && *q >= 'a' && *q <= 'z') {
            const char *desc = strstr(q, "  ");
            if (!desc || desc > eol)
                desc = eol;
            /* the words before the summary: NAME [sub|sub] [PLACEHOLDER...] */
            const char *w[8];
            size_t wl[8];
            int nw = 0;
            for (const char *r = q; r < desc && nw < 8;) {
                const char *t = r;
                while (r < desc && *r != ' ')
                    r++;
                w[nw] = t;
                wl[nw++] = (size_t)(r - t);
                while (r < desc && *r == ' ')
                    r++;
            }
            char name[64];
            snprintf(name, sizeof name, "%.*s", (int)wl[0], w[0]);
            comp_cmd *c = find_cmd(cmds, n, name);
            if (!c && n < max) {
                c = &cmds[n++];
                memset(c, 0, sizeof *c);
                snprintf(c->key, sizeof c->key, "%s", name);
                while (*desc == ' ')
                    desc++;
                snprintf(c->desc, sizeof c->desc, "%.*s", (int)(eol - desc), desc);
            }
            int first_arg = 1;
            if (c && nw > 1 && only_chars(w[1], wl[1], "abcdefghijklmnopqrstuvwxyz|")) {
                first_arg = 2;
                /* sub-commands: "list" on a line of its own, or "bash|zsh" */
                for (const char *s = w[1], *e = w[1] + wl[1]; s < e;) {
                    const char *b = memchr(s, '|', (size_t)(e - s));
                    if (!b)
                        b = e;
                    append_word(c->subs, sizeof c->subs, s, (size_t)(b - s));
                    char key[64];
                    make_key(key, sizeof key, name, s, (size_t)(b - s));
                    comp_cmd *sc = n < max && !find_cmd(cmds, n, key) ? &cmds[n++] : NULL;
                    if (sc) {
                        memset(sc, 0, sizeof *sc);
                        snprintf(sc->key, sizeof sc->key, "%s", key);
                        for (int i = 2; i < nw; i++)
                            append_word(sc->args, sizeof sc->args, arg_kind(w[i], wl[i]), strlen(arg_kind(w[i], wl[i])));
                    }
                    s = b < e ? b + 1 : e;
                }
            }
            if (c && first_arg == 1 && !c->args[0])
                for (int i = 1; i < nw; i++)
                    append_word(c->args, sizeof c->args, arg_kind(w[i], wl[i]), strlen(arg_kind(w[i], wl[i])));
        }
        if (!*eol)
            break;
        p = eol + 1;
    }
    return n;
}

/* The options of each command and sub-command, from its --help. */
static void read_options(comp_cmd *cmds, int n)
{
    for (int i = 0; i < n; i++) {
        char verb[sizeof cmds[i].key];
        memcpy(verb, cmds[i].key, sizeof verb);
        char *slash = strchr(verb, '/');
        const char *args[4] = {verb, "--help", NULL, NULL};
        int argc = 2;
        if (slash) {
            *slash = '\0';
            args[1] = slash + 1;
            args[2] = "--help";
            argc = 3;
        }
        char *text = help_of(argc, args);
        parse_help(&cmds[i].opts, text);
        free(text);
        add_opt(&cmds[i].opts, "--help", 6, NULL, 0);
    }
}

static void print_opts(FILE *out, const comp_set *s, int values)
{
    int first = 1;
    for (int i = 0; i < s->n; i++) {
        if (values && !s->v[i].kind[0])
            continue;
        fprintf(out, first ? "%s" : " %s", s->v[i].name);
        if (values)
            fprintf(out, ":%s", s->v[i].kind);
        first = 0;
    }
}

/* A single-quoted shell word. */
static void print_quoted(FILE *out, const char *s)
{
    fputc('\'', out);
    for (; *s; s++)
        if (*s == '\'')
            fputs("'\\''", out);
        else
            fputc(*s, out);
    fputc('\'', out);
}

/* The tables, the same for both shells: assignments to associative arrays. */
static void print_tables(FILE *out, const char *shell, const comp_cmd *cmds, int n, const comp_set *globals)
{
    const char *decl = strcmp(shell, "zsh") == 0 ? "typeset -gA" : "declare -gA";
    fprintf(out, "%s _ferry_opts _ferry_vals _ferry_subs _ferry_args _ferry_desc\n", decl);
    fputs("_ferry_cmds='help", out);
    for (int i = 0; i < n; i++)
        if (!strchr(cmds[i].key, '/'))
            fprintf(out, " %s", cmds[i].key);
    fputs("'\n", out);
    /* "_": the global options (anywhere); "ferry": before a command */
    fputs("_ferry_opts[_]='", out);
    print_opts(out, globals, 0);
    fputs("'\n_ferry_vals[_]='", out);
    print_opts(out, globals, 1);
    fputs("'\n_ferry_opts[ferry]='--help --version'\n_ferry_args[help]='command'\n", out);
    for (int i = 0; i < n; i++) {
        const comp_cmd *c = &cmds[i];
        fprintf(out, "_ferry_opts[%s]='", c->key);
        print_opts(out, &c->opts, 0);
        fprintf(out, "'\n_ferry_vals[%s]='", c->key);
        print_opts(out, &c->opts, 1);
        fprintf(out, "'\n_ferry_args[%s]='%s'\n", c->key, c->args);
        if (c->subs[0])
            fprintf(out, "_ferry_subs[%s]='%s'\n", c->key, c->subs);
        if (c->subs[0]) {
            fprintf(out, "_ferry_desc[%s]='%s'\n", c->key, c->subs); /* the first line is one sub-command's */
        } else if (c->desc[0]) {
            fprintf(out, "_ferry_desc[%s]=", c->key);
            print_quoted(out, c->desc);
            fputc('\n', out);
        }
    }
}

static const char bash_body[] =
    "\n"
    "# _ferry_conn_ids FERRY: the connection ids, one a line (`ferry conn list`, quietly)\n"
    "_ferry_conn_ids() {\n"
    "  local f=$1 id _\n"
    "  [[ $f == '~/'* ]] && f=$HOME/${f#'~/'}\n"
    "  command \"$f\" conn list 2>/dev/null </dev/null | while read -r id _; do printf '%s\\n' \"$id\"; done\n"
    "}\n"
    "\n"
    "_ferry() {\n"
    "  local line=${COMP_LINE-${COMP_WORDS[*]}}\n"
    "  line=${line:0:${COMP_POINT:-${#line}}}\n"
    "  local -a w\n"
    "  read -ra w <<<\"$line\"\n"
    "  [[ -z $line || $line == *[[:space:]] ]] && w+=('')\n"
    "  local cur=${w[${#w[@]}-1]} ferry=${w[0]:-ferry} cmd='' key=ferry kind='' word i n=0 c\n"
    "  COMPREPLY=()\n"
    "  for ((i = 1; i < ${#w[@]} - 1; i++)); do\n"
    "    word=${w[i]}\n"
    "    if [[ $word == -* ]]; then\n"
    "      [[ $word == *=* ]] && continue\n"
    "      c=\" ${_ferry_vals[$key]} ${_ferry_vals[_]} \"\n"
    "      if [[ $c == *\" $word:\"* ]]; then\n"
    "        c=${c#*\" $word:\"}\n"
    "        ((i + 1 == ${#w[@]} - 1)) && kind=value:${c%% *}\n"
    "        ((i++))\n"
    "      fi\n"
    "    elif [[ -z $cmd ]]; then\n"
    "      cmd=$word key=$word\n"
    "    elif [[ $key == \"$cmd\" && -n ${_ferry_subs[$cmd]} ]]; then\n"
    "      key=$cmd/$word\n"
    "    else\n"
    "      ((n++))\n"
    "    fi\n"
    "  done\n"
    "  if [[ -z $kind ]]; then\n"
    "    if [[ $cur == -* ]]; then\n"
    "      kind=options\n"
    "    elif [[ -z $cmd ]]; then\n"
    "      kind=command\n"
    "    elif [[ $key == \"$cmd\" && -n ${_ferry_subs[$cmd]} ]]; then\n"
    "      kind=sub\n"
    "    else\n"
    "      local -a kinds=(${_ferry_args[$key]})\n"
    "      ((${#kinds[@]})) && kind=${kinds[n]:-${kinds[${#kinds[@]}-1]}}\n"
    "    fi\n"
    "  fi\n"
    "  case $kind in\n"
    "    options) COMPREPLY=($(compgen -W \"${_ferry_opts[$key]} ${_ferry_opts[_]}\" -- \"$cur\")) ;;\n"
    "    command) COMPREPLY=($(compgen -W \"$_ferry_cmds\" -- \"$cur\")) ;;\n"
    "    sub) COMPREPLY=($(compgen -W \"${_ferry_subs[$cmd]}\" -- \"$cur\")) ;;\n"
    "    id | value:id) COMPREPLY=($(compgen -W \"$(_ferry_conn_ids \"$ferry\")\" -- \"$cur\")) ;;\n"
    "    value:file) while IFS= read -r c; do [[ -d $c ]] && c+=/; COMPREPLY+=(\"$c\"); done < <(compgen -f -- \"$cur\") ;;\n"
    "    value:*\\|*) c=${kind#value:}; COMPREPLY=($(compgen -W \"${c//|/ }\" -- \"$cur\")) ;;\n"
    "    conn | endpoint)\n"
    "      # CONN_ID: and s3://; after CONN_ID: nothing more; local paths for an endpoint\n"
    "      if [[ $cur != *:* ]]; then\n"
    "        while IFS= read -r c; do [[ -n $c && $c: == \"$cur\"* ]] && COMPREPLY+=(\"$c:\"); done < <(_ferry_conn_ids \"$ferry\")\n"
    "      fi\n"
    "      if [[ $kind == endpoint ]]; then\n"
    "        [[ s3:// == \"$cur\"* ]] && COMPREPLY+=(s3://)\n"
    "        if [[ $cur != *:* ]]; then\n"
    "          while IFS= read -r c; do [[ -d $c ]] && c+=/; COMPREPLY+=(\"$c\"); done < <(compgen -f -- \"$cur\")\n"
    "        fi\n"
    "      fi ;;\n"
    "  esac\n"
    "  for c in \"${COMPREPLY[@]}\"; do\n"
    "    [[ $c == *[:/] ]] && { compopt -o nospace 2>/dev/null; break; }\n"
    "  done\n"
    "  # readline replaces only the text after a ':' of COMP_WORDBREAKS\n"
    "  if [[ $cur == *:* && ${COMP_WORDBREAKS-} == *:* ]]; then\n"
    "    local pre=${cur%\"${cur##*:}\"}\n"
    "    COMPREPLY=(\"${COMPREPLY[@]#\"$pre\"}\")\n"
    "  fi\n"
    "  return 0\n"
    "}\n"
    "complete -F _ferry ferry\n";

static const char zsh_body[] =
    "\n"
    "# _ferry_conn_ids FERRY: the connection ids (`ferry conn list`, quietly)\n"
    "_ferry_conn_ids() {\n"
    "  local l\n"
    "  for l in ${(f)\"$(command ${~1} conn list 2>/dev/null </dev/null)\"}; do print -r -- ${l%% *}; done\n"
    "}\n"
    "\n"
    "_ferry() {\n"
    "  local cur=$PREFIX ferry=${words[1]} cmd= key=ferry kind= word c\n"
    "  integer i n=0\n"
    "  for (( i = 2; i < CURRENT; i++ )); do\n"
    "    word=${words[i]}\n"
    "    if [[ $word == -* ]]; then\n"
    "      [[ $word == *=* ]] && continue\n"
    "      c=\" ${_ferry_vals[$key]} ${_ferry_vals[_]} \"\n"
    "      if [[ $c == *\" $word:\"* ]]; then\n"
    "        c=${c#*\" $word:\"}\n"
    "        (( i + 1 == CURRENT )) && kind=value:${c%% *}\n"
    "        (( i++ ))\n"
    "      fi\n"
    "    elif [[ -z $cmd ]]; then\n"
    "      cmd=$word key=$word\n"
    "    elif [[ $key == $cmd && -n ${_ferry_subs[$cmd]} ]]; then\n"
    "      key=$cmd/$word\n"
    "    else\n"
    "      (( n++ ))\n"
    "    fi\n"
    "  done\n"
    "  if [[ -z $kind ]]; then\n"
    "    if [[ $cur == -* ]]; then\n"
    "      kind=options\n"
    "    elif [[ -z $cmd ]]; then\n"
    "      kind=command\n"
    "    elif [[ $key == $cmd && -n ${_ferry_subs[$cmd]} ]]; then\n"
    "      kind=sub\n"
    "    else\n"
    "      local -a kinds=(${=_ferry_args[$key]})\n"
    "      (( ${#kinds} )) && kind=${kinds[n+1]:-${kinds[-1]}}\n"
    "    fi\n"
    "  fi\n"
    "  local -a items\n"
    "  case $kind in\n"
    "    options) compadd -- ${=_ferry_opts[$key]} ${=_ferry_opts[_]} ;;\n"
    "    command)\n"
    "      items=(help:'the help of a command')\n"
    "      for c in ${=_ferry_cmds}; do [[ -n ${_ferry_desc[$c]} ]] && items+=(\"$c:${_ferry_desc[$c]}\"); done\n"
    "      _describe -t commands 'ferry command' items ;;\n"
    "    sub) compadd -- ${=_ferry_subs[$cmd]} ;;\n"
    "    id|value:id) compadd -- $(_ferry_conn_ids $ferry) ;;\n"
    "    value:file) _files ;;\n"
    "    value:*\\|*) compadd -- ${(s:|:)${kind#value:}} ;;\n"
    "    conn|endpoint)\n"
    "      # CONN_ID: and s3://; after CONN_ID: nothing more; local paths for an endpoint\n"
    "      if [[ $cur != *:* ]]; then\n"
    "        items=($(_ferry_conn_ids $ferry))\n"
    "        (( ${#items} )) && compadd -S '' -- ${^items}:\n"
    "      fi\n"
    "      if [[ $kind == endpoint ]]; then\n"
    "        compadd -S '' -- s3://\n"
    "        [[ $cur != *:* ]] && _files\n"
    "      fi ;;\n"
    "  esac\n"
    "  return 0\n"
    "}\n"
    "\n"
    "if [[ $funcstack[1] == _ferry ]]; then\n"
    "  _ferry \"$@\"\n"
    "else\n"
    "  compdef _ferry ferry\n"
    "fi\n";

int cmd_completion(int argc, char **argv)
{
    const char *shell = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            fputs(completion_help, stdout);
            return 0;
        } else if (argv[i][0] == '-')
            return cli_usage("completion", "unknown option '%s'", argv[i]);
        else if (!shell)
            shell = argv[i];
        else
            return cli_usage("completion", "takes one shell name (bash or zsh)");
    }
    if (!shell)
        return cli_usage("completion", "needs a shell: bash or zsh");
    if (strcmp(shell, "bash") != 0 && strcmp(shell, "zsh") != 0)
        return cli_usage("completion", "unknown shell '%s' (bash, zsh)", shell);

    static comp_cmd cmds[MAX_CMDS];
    static comp_set globals;
    const char *help_args[1] = {"help"};
    char *usage = help_of(1, help_args);
    if (!usage) {
        ferry_error err;
        ferry_error_clear(&err);
        ferry_error_oom(&err, NULL, NULL, NULL);
        return cli_fail(&err);
    }
    int n = parse_commands(usage, cmds, MAX_CMDS);
    parse_help(&globals, usage);
    free(usage);
    read_options(cmds, n);

    if (strcmp(shell, "zsh") == 0)
        fputs("#compdef ferry\n", stdout);
    printf("# %s completion for ferry %s, generated by `ferry completion %s` from the --help texts.\n", shell,
           ferry_version(), shell);
    print_tables(stdout, shell, cmds, n, &globals);
    fputs(strcmp(shell, "zsh") == 0 ? zsh_body : bash_body, stdout);
    return 0;
}
