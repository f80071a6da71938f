#!/usr/bin/env python3
"""tests/docs_truth.py - helpers of tests/integration/docs_truth.sh (run, never imported):

  docs_truth.py exit-codes README HELP_FILE MAN      the exit-code lists agree
  docs_truth.py options MAN HELP_FILE...            every option of the helps is in the man page
  docs_truth.py dag-move DAG_FILE                   print the DAG's move task bash_command, rendered

Each check prints one line per problem on stdout and exits 1 when there is any.
"""
import ast
import re
import sys

# what each code must say, in substance (one of the words, case-insensitive)
MEANING = {0: ("ok", "success"), 1: ("internal",), 2: ("usage",), 3: ("config",), 4: ("connect",),
           5: ("not found",), 6: ("exist",), 7: ("data",), 8: ("transient",), 9: ("i/o",),
           10: ("timeout",), 130: ("interrupt",)}


def man_text(path):
    t = open(path, encoding="utf-8").read()
    t = t.replace("\\-", "-").replace("\\(em", "-").replace("\\(en", "-")
    return re.sub(r"\\f[BIRP]", "", t)


def readme_codes(path):
    t = open(path, encoding="utf-8").read()
    sec = t.split("## Exit codes", 1)[1].split("\n## ", 1)[0]
    return {int(m.group(1)): m.group(2) for m in re.finditer(r"^\| (\d+) \|(.*)\|\s*$", sec, re.M)}


def help_codes(path):
    t = open(path, encoding="utf-8").read()
    m = re.search(r"^Exit codes:(.*?)(?:\n\s*\n|\Z)", t, re.S | re.M)
    if not m:
        return {}
    block = " ".join(m.group(1).split())
    return {int(c): d for c, d in re.findall(r"(?:^|[,;])\s*(\d+) ([^,;]*)", block)}


def man_codes(path):
    t = man_text(path)
    sec = t.split(".SH EXIT STATUS", 1)[1].split("\n.SH ", 1)[0]
    out = {}
    for m in re.finditer(r"^\.TP\n\.B (\d+)\n(.*?)(?=^\.TP|\Z)", sec, re.S | re.M):
        out[int(m.group(1))] = " ".join(m.group(2).split())
    return out


def exit_codes(readme, help_file, man):
    lists = {"README.md": readme_codes(readme), "ferry --help": help_codes(help_file),
             "docs/ferry.1": man_codes(man)}
    bad = []
    for name, codes in lists.items():
        if not codes:
            bad.append(f"{name}: no exit-code list found")
            continue
        if sorted(codes) != sorted(MEANING):
            bad.append(f"{name}: codes {sorted(codes)}, want {sorted(MEANING)}")
        for c, text in codes.items():
            if c in MEANING and not any(w in text.lower() for w in MEANING[c]):
                bad.append(f"{name}: code {c} reads '{text.strip()}', want it to say {' or '.join(MEANING[c])}")
    for b in bad:
        print(b)
    return 1 if bad else 0


OPT = re.compile(r"(?<![\w\-])(--[a-z][a-z0-9\-]*[a-z0-9]|-[a-zA-Z])(?![\w\-])")


def options(man, helps):
    mt = man_text(man)
    have = set(OPT.findall(mt))
    bad = []
    for h in helps:
        name = h.rsplit("/", 1)[-1]
        for o in sorted(set(OPT.findall(open(h, encoding="utf-8").read()))):
            if o not in have:
                bad.append(f"{name}: {o} is not in docs/ferry.1")
    for b in bad:
        print(b)
    return 1 if bad else 0


def dag_move(path):
    src = open(path, encoding="utf-8").read()
    tree = ast.parse(src)
    env = {}
    for node in tree.body:  # module-level NAME = "constant"
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant):
            for t in node.targets:
                if isinstance(t, ast.Name):
                    env[t.id] = node.value.value
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "BashOperator":
            kw = {k.arg: k.value for k in node.keywords}
            tid = kw.get("task_id")
            if isinstance(tid, ast.Constant) and tid.value == "move_partner_files_to_s3":
                expr = ast.Expression(kw["bash_command"])
                cmd = eval(compile(expr, path, "eval"), {}, dict(env))
                # what Airflow's Jinja rendering does with these (fixed date)
                cmd = cmd.replace("{{ ds_nodash }}", "20240229").replace("{{ ds }}", "2024-02-29")
                print(cmd)
                return 0
    print("no BashOperator with task_id move_partner_files_to_s3", file=sys.stderr)
    return 1


if __name__ == "__main__":
    a = sys.argv[1:]
    if a and a[0] == "exit-codes" and len(a) == 4:
        sys.exit(exit_codes(*a[1:]))
    if a and a[0] == "options" and len(a) >= 3:
        sys.exit(options(a[1], a[2:]))
    if a and a[0] == "dag-move" and len(a) == 2:
        sys.exit(dag_move(a[1]))
    print(__doc__, file=sys.stderr)
    sys.exit(2)
