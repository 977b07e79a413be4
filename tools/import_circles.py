"""Print every circle of imports among stridekit's modules: groups of modules that import
each other, directly or through others. Imports inside functions count; imports under
``TYPE_CHECKING`` (annotations only) do not. `make lint` keeps the same promise with
import-linter's ``acyclic_siblings`` contract; this lists the modules themselves.

    python tools/import_circles.py        # "no circles among N modules" or each circle
"""

from __future__ import annotations

import sys

import grimp


def circles(package: str = "stridekit") -> tuple[int, list[list[str]]]:
    """The module count and each strongly connected group of two or more modules (Tarjan)."""
    graph = grimp.build_graph(package, exclude_type_checking_imports=True)
    modules = sorted(graph.modules)
    edges = {m: sorted(graph.find_modules_directly_imported_by(m)) for m in modules}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(root: str) -> None:
        work = [(root, iter(edges[root]))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, targets = work[-1]
            for target in targets:
                if target not in index:
                    index[target] = low[target] = len(index)
                    stack.append(target)
                    on_stack.add(target)
                    work.append((target, iter(edges[target])))
                    break
                if target in on_stack:
                    low[node] = min(low[node], index[target])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    group = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        group.append(member)
                        if member == node:
                            break
                    if len(group) > 1:
                        found.append(sorted(group))

    for module in modules:
        if module not in index:
            visit(module)
    return len(modules), found


def main() -> int:
    count, found = circles()
    if not found:
        print(f"no circles among {count} modules")
        return 0
    for group in found:
        print("circle:", " <-> ".join(group))
    return 1


if __name__ == "__main__":
    sys.exit(main())
