"""CI guard on the package's shape: no module over MAX_LINES, no import cycle outside the
allow-list.

usage: python3 tools/check_structure.py [PACKAGE_DIR] [--max-lines N] [--allow FILE]

Imports are found with ``ast``, function-level (lazy) ones included: a lazy import that
dodges a cycle at import time is still a cycle between the modules. Imports under
``if TYPE_CHECKING:`` are not (they never run). A cycle is a strongly connected component
of the import graph; one is allowed when the allow-list names a set of modules that holds
all of it. Exit 1 on a module too long or a cycle not allowed.
"""

from __future__ import annotations

import argparse
import ast
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
#: The project's limit on a module's length (lines).
MAX_LINES = 800
DEFAULT_PACKAGE = ROOT / "boxdrive_wsgi"
DEFAULT_ALLOW = Path(__file__).with_name("import_cycles_allowed.txt")


def module_files(package: Path) -> dict[str, Path]:
    """Dotted module name -> file, for every module under ``package``."""
    modules = {}
    for path in sorted(package.rglob("*.py")):
        parts = path.relative_to(package.parent).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        modules[".".join(parts)] = path
    return modules


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def imported_names(module: str, path: Path) -> set[str]:
    """Every name ``module`` imports at run time, resolved to absolute dotted names
    (``from .x import y`` gives both ``pkg.x`` and ``pkg.x.y``: y may be a module)."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _is_type_checking(child):
                for other in child.orelse:
                    visit(other)
                continue
            if isinstance(child, ast.Import):
                found.update(alias.name for alias in child.names)
            elif isinstance(child, ast.ImportFrom):
                if child.level:
                    parts = package.split(".")
                    base = ".".join(parts[: len(parts) - (child.level - 1)])
                    target = f"{base}.{child.module}" if child.module else base
                else:
                    target = child.module or ""
                found.add(target)
                found.update(f"{target}.{alias.name}" for alias in child.names)
            visit(child)

    visit(ast.parse(path.read_text(), str(path)))
    return found


def import_graph(modules: Mapping[str, Path]) -> dict[str, set[str]]:
    """Module -> the package's modules it imports (its own parent packages left out:
    a submodule always runs them first, which is no cycle of its making)."""
    graph = {}
    for module, path in modules.items():
        graph[module] = {
            name
            for name in imported_names(module, path)
            if name in modules and name != module and not module.startswith(name + ".")
        }
    return graph


def cycles(graph: Mapping[str, set[str]]) -> list[frozenset[str]]:
    """The strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[frozenset[str]] = []
    for start in graph:
        if start in index:
            continue
        work: list[tuple[str, list[str]]] = [(start, sorted(graph[start]))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, pending = work[-1]
            if pending:
                nxt = pending.pop()
                if nxt not in index:
                    index[nxt] = low[nxt] = len(index)
                    stack.append(nxt)
                    on_stack.add(nxt)
                    work.append((nxt, sorted(graph[nxt])))
                elif nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component = set()
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.add(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(frozenset(component))
    return sorted(found, key=sorted)


def read_allowed(path: Path) -> list[frozenset[str]]:
    """One allowed cycle per line: its modules, separated by spaces; ``#`` comments."""
    if not path.exists():
        return []
    allowed = []
    for line in path.read_text().splitlines():
        names = line.partition("#")[0].split()
        if names:
            allowed.append(frozenset(names))
    return allowed


def line_count(path: Path) -> int:
    return len(path.read_text().splitlines())


def check(
    package: Path, max_lines: int, allowed: Iterable[frozenset[str]]
) -> tuple[list[str], list[str]]:
    """(problems, notes): a module over ``max_lines``, a cycle no allowed set holds."""
    modules = module_files(package)
    problems, notes = [], []
    sizes = sorted(((line_count(p), m) for m, p in modules.items()), reverse=True)
    problems += [f"{m}: {n} lines, over {max_lines}" for n, m in sizes if n > max_lines]
    allowed = list(allowed)
    found = cycles(import_graph(modules))
    new = [cycle for cycle in found if not any(cycle <= permitted for permitted in allowed)]
    problems += [f"import cycle: {' <-> '.join(sorted(cycle))}" for cycle in new]
    notes += [
        f"allowed import cycle: {' <-> '.join(sorted(cycle))}"
        for cycle in found
        if cycle not in new
    ]
    notes += [
        f"allow-list entry is no longer a cycle, remove it: {' '.join(sorted(permitted))}"
        for permitted in allowed
        if not any(cycle <= permitted for cycle in found)
    ]
    lines, largest = sizes[0]
    notes.append(
        f"{len(modules)} modules, largest {largest} ({lines} lines), "
        f"{len(found)} import cycles ({len(found) - len(new)} allowed)"
    )
    return problems, notes


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("package", nargs="?", type=Path, default=DEFAULT_PACKAGE)
    parser.add_argument("--max-lines", type=int, default=MAX_LINES)
    parser.add_argument("--allow", type=Path, default=DEFAULT_ALLOW)
    args = parser.parse_args(argv)
    problems, notes = check(args.package, args.max_lines, read_allowed(args.allow))
    for note in notes:
        print(f"structure: {note}")
    for problem in problems:
        print(f"structure: FAIL {problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
