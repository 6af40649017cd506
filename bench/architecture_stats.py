"""Architecture numbers for issue 9: lines, modules, import cycles, ``dict[str, Any]`` uses.

    .venv/bin/python bench/architecture_stats.py          # a table
    .venv/bin/python bench/architecture_stats.py --json   # the same numbers as JSON
    .venv/bin/python bench/architecture_stats.py --edges  # also every package -> package import

Imports are read with grimp (the graph import-linter checks), lazy imports inside functions
included; ``importlib.import_module`` calls are invisible to it.  A *package cycle* is a pair of
top-level packages of ``itdd`` that import each other (directly or through others); a *module
cycle* is a strongly connected group of two or more modules.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

import grimp

ROOT = Path(__file__).resolve().parent.parent
SRC = ROOT / "src"


def _strongly_connected(nodes: set[str], edges: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's algorithm (iterative): the groups of nodes that reach each other."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    groups: list[list[str]] = []
    counter = 0
    for root in sorted(nodes):
        if root in index:
            continue
        work = [(root, iter(sorted(edges.get(root, ()))))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            advanced = False
            for child in children:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(edges.get(child, ())))))
                    advanced = True
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            if advanced:
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                group = []
                while True:
                    top = stack.pop()
                    on_stack.discard(top)
                    group.append(top)
                    if top == node:
                        break
                if len(group) > 1:
                    groups.append(sorted(group))
    return groups


def _package(module: str) -> str:
    parts = module.split(".")
    return ".".join(parts[:2])


def stats() -> dict[str, object]:
    sys.path.insert(0, str(SRC))
    graph = grimp.build_graph("itdd", cache_dir=None)
    modules = {m for m in graph.modules if m.startswith("itdd")}
    edges: dict[str, set[str]] = {m: set() for m in modules}
    for m in modules:
        for other in graph.find_modules_directly_imported_by(m):
            if other.startswith("itdd") and other != m:
                edges[m].add(other)
    # a package imports itself through its __init__ constantly; cycles between *packages* ignore that
    pkg_edges: dict[str, set[str]] = {}
    for m, targets in edges.items():
        for t in targets:
            a, b = _package(m), _package(t)
            if a != b and a != "itdd" and b != "itdd":
                pkg_edges.setdefault(a, set()).add(b)
    packages = {_package(m) for m in modules} - {"itdd"}
    package_cycles = _strongly_connected(packages, pkg_edges)
    package_pairs = sorted(
        (a, b) for a in packages for b in packages if a < b and _reaches(pkg_edges, a, b) and _reaches(pkg_edges, b, a)
    )
    module_cycles = _strongly_connected(modules, edges)
    files = sorted(SRC.rglob("*.py"))
    lines = {str(f.relative_to(ROOT)): sum(1 for _ in f.open(encoding="utf-8")) for f in files}
    # lines that mention it, as `grep -rn 'dict\[str, Any\]' src | wc -l` counts them
    dict_any = sum(
        1 for f in files for line in f.read_text(encoding="utf-8").splitlines() if re.search(r"dict\[str, Any\]", line)
    )
    return {
        "lines": sum(lines.values()),
        "modules": len(files),
        "modules_over_500_lines": {k: v for k, v in sorted(lines.items(), key=lambda kv: -kv[1]) if v > 500},
        "package_cycles": package_cycles,
        "package_pairs_in_cycles": [list(p) for p in package_pairs],
        "module_cycles": module_cycles,
        "modules_in_cycles": sum(len(g) for g in module_cycles),
        "dict_str_any": dict_any,
        "package_edges": {a: sorted(b) for a, b in sorted(pkg_edges.items())},
    }


def _reaches(edges: dict[str, set[str]], a: str, b: str) -> bool:
    seen, todo = {a}, [a]
    while todo:
        for n in edges.get(todo.pop(), ()):
            if n == b:
                return True
            if n not in seen:
                seen.add(n)
                todo.append(n)
    return False


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--edges", action="store_true", help="print every package -> package import")
    args = ap.parse_args()
    s = stats()
    if args.json:
        print(json.dumps(s, indent=2))
        return 0
    print(f"lines of src:                 {s['lines']}")
    print(f"modules (.py files):          {s['modules']}")
    print(f"modules over 500 lines:       {len(s['modules_over_500_lines'])}")  # type: ignore[arg-type]
    for name, n in s["modules_over_500_lines"].items():  # type: ignore[attr-defined]
        print(f"    {n:5d} {name}")
    print(f"package cycles (SCCs):        {len(s['package_cycles'])}")  # type: ignore[arg-type]
    for g in s["package_cycles"]:  # type: ignore[attr-defined]
        print("    " + " <-> ".join(g))
    print(f"package pairs in a cycle:     {len(s['package_pairs_in_cycles'])}")  # type: ignore[arg-type]
    print(f"module cycles (SCCs):         {len(s['module_cycles'])}")  # type: ignore[arg-type]
    print(f"modules in a module cycle:    {s['modules_in_cycles']}")
    for g in s["module_cycles"]:  # type: ignore[attr-defined]
        print("    " + ", ".join(g))
    print(f"lines with 'dict[str, Any]': {s['dict_str_any']}")
    if args.edges:
        for a, bs in s["package_edges"].items():  # type: ignore[attr-defined]
            print(f"{a} -> {', '.join(bs)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
