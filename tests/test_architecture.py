"""The import contract of ARCHITECTURE.md, checked on the source: which stage folder may import
which, which modules may import z3, lark, tabulate and Dask, and no import cycle between modules.

Every module under objcg_proof/ is parsed with `ast` (never imported), so a module added later to
a folder is held to its folder's rule without being listed here, and a folder without a rule is
itself an error. Every import counts, also one inside a function or under `if TYPE_CHECKING:`;
the cycle check uses the imports that run when the module is loaded (outside functions and
outside `if TYPE_CHECKING:`). Modules named in strings (`importlib.import_module`, as the
command table of cli/dispatch.py does) are not imports here: the command layer may import
anything anyway. Each broken rule is reported as `file:line: ...` naming the rule.
"""

from __future__ import annotations

import ast
import textwrap
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = "objcg_proof"

# Folder -> the folders its modules may import, and single modules of other folders they may
# import besides. "" is the package root: __main__.py may import the command line; __init__.py
# holds __version__, which every folder may import, and so itself imports nothing of the package
# (checked in `check`). The command line (cli) may
# import anything; the gate and the research commands borrow the command line's report writer
# (and, for study, its option parsing and exit statuses), nothing else of it.
FOLDERS: dict[str, frozenset[str]] = {
    "": frozenset({"cli"}),
    "lang": frozenset({"lang"}),
    "prove": frozenset({"lang", "prove"}),
    "oracles": frozenset({"lang", "oracles"}),
    "runner": frozenset({"lang", "prove", "oracles", "runner"}),
    "gate": frozenset({"lang", "prove", "gate"}),
    "study": frozenset({"lang", "prove", "oracles", "runner", "study"}),
    "drift": frozenset({"lang", "drift"}),
    "cli": frozenset({"", "lang", "prove", "oracles", "runner", "gate", "study", "drift", "cli"}),
}
EXTRA_MODULES: dict[str, frozenset[str]] = {
    "gate": frozenset({"cli.report"}),
    "study": frozenset({"cli.options", "cli.status", "cli.report", "cli.html_report"}),
}

# Third-party packages confined to a few modules (paths relative to objcg_proof/; "study/*": any
# module of the folder). z3 stays behind the prover's door (STYLE.md habit 4); prove/sc.py and
# prove/lkmm.py are the memory models' own modules.
CONFINED: dict[str, frozenset[str]] = {
    "z3": frozenset({"prove/encode.py", "prove/solver.py", "prove/decode.py", "prove/sc.py", "prove/lkmm.py",
                     "prove/lkmm_clocks.py", "prove/lkmm_plain.py", "prove/held.py"}),
    "lark": frozenset({"lang/parser.py", "lang/litmus_parser.py"}),
    "tabulate": frozenset({"study/*"}),
    "jinja2": frozenset({"cli/html_report.py"}),
    # Dask, an optional extra (`--scheduler`): one module loads it, and only when it is used
    "distributed": frozenset({"runner/dask_pool.py"}),
    "dask": frozenset({"runner/dask_pool.py"}),
    "tree_sitter": frozenset({"drift/c_source.py"}),
    "tree_sitter_c": frozenset({"drift/c_source.py"}),
}


@dataclass(frozen=True)
class Import:
    file: str          # relative to the directory holding the package, e.g. objcg_proof/lang/parser.py
    line: int
    target: str        # a dotted module name: objcg_proof.lang.diagnostics, z3, lark.tree, ...
    at_load: bool      # runs when the importing module is loaded (for the cycle check)


def module_name(path: Path, src: Path) -> str:
    parts = list(path.relative_to(src).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _walk(node: ast.AST, at_load: bool):  # type: ignore[no-untyped-def]
    """Every import statement under `node`, with whether it runs at load time."""
    for child in ast.iter_child_nodes(node):
        if isinstance(child, (ast.Import, ast.ImportFrom)):
            yield child, at_load
        inner = at_load and not isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
        if isinstance(child, ast.If) and _is_type_checking(child):
            yield from ((n, False) for n, _ in _walk(ast.Module(body=child.body, type_ignores=[]), False))
            yield from _walk(ast.Module(body=child.orelse, type_ignores=[]), inner)
            continue
        yield from _walk(child, inner)


def imports_of(path: Path, src: Path, modules: set[str]) -> list[Import]:
    """The imports of one module; relative imports resolved, `from P import m` taken as the module
    P.m when that is a module of the tree."""
    name = module_name(path, src)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    rel = str(path.relative_to(src))
    found: list[Import] = []
    for node, at_load in _walk(ast.parse(path.read_text(encoding="utf-8"), str(path)), True):
        if isinstance(node, ast.Import):
            found += [Import(rel, node.lineno, alias.name, at_load) for alias in node.names]
            continue
        if node.level:
            base = package.split(".")
            base = base[:len(base) - (node.level - 1)]
            origin = ".".join(base + ([node.module] if node.module else []))
        else:
            origin = node.module or ""
        for alias in node.names:
            sub = f"{origin}.{alias.name}"
            found.append(Import(rel, node.lineno, sub if sub in modules else origin, at_load))
    return found


def folder_of(module: str) -> str:
    """The stage folder of a module of the package ("" for the package root)."""
    parts = module.split(".")
    if len(parts) == 1 or (len(parts) == 2 and parts[1] in ("__init__", "__main__")):
        return ""
    return parts[1]


def check(src: Path, package: str = PACKAGE) -> list[str]:
    """Every broken rule of the import contract in the package `src/package`, one line each."""
    files = sorted((src / package).rglob("*.py"))
    modules = {module_name(f, src) for f in files}
    problems: list[str] = []
    edges: dict[str, list[Import]] = {m: [] for m in modules}
    for path in files:
        me = module_name(path, src)
        mine = "" if path.parent == src / package else path.relative_to(src / package).parts[0]
        if mine not in FOLDERS:
            problems.append(f"{path.relative_to(src)}:1: folder {mine}/ has no rule in test_architecture.FOLDERS: "
                            f"say which folders it may import")
            continue
        rel_in_package = str(path.relative_to(src / package))
        for imp in imports_of(path, src, modules):
            top = imp.target.split(".")[0]
            if top == package and rel_in_package == "__init__.py":
                problems.append(f"{imp.file}:{imp.line}: imports {imp.target}: the package's __init__.py may import "
                                f"nothing of the package (every folder may import it, for __version__)")
            elif imp.target == package:
                pass       # the root __init__.py: __version__, importing nothing (the rule above)
            elif top == package:
                theirs = folder_of(imp.target)
                short = imp.target[len(package) + 1:]
                if theirs not in FOLDERS[mine] and short not in EXTRA_MODULES.get(mine, frozenset()) \
                        and theirs != mine:
                    allowed = sorted(FOLDERS[mine] | EXTRA_MODULES.get(mine, frozenset()))
                    problems.append(f"{imp.file}:{imp.line}: imports {imp.target}: {mine or 'the package root'}"
                                    f"{'/' if mine else ''} may import only {', '.join(a or 'the root' for a in allowed)}")
                if imp.at_load and imp.target in modules and imp.target != me:
                    edges[me].append(imp)
            elif top in CONFINED:
                allowed_files = CONFINED[top]
                if rel_in_package not in allowed_files and f"{mine}/*" not in allowed_files:
                    problems.append(f"{imp.file}:{imp.line}: imports {top}: only {', '.join(sorted(allowed_files))} "
                                    f"may import {top}")
    problems += cycles(edges)
    return problems


def cycles(edges: dict[str, list[Import]]) -> list[str]:
    """One line per import cycle found by a depth-first search, naming each import of the ring."""
    found: list[str] = []
    done: set[str] = set()
    stack: list[str] = []        # the modules on the current path
    via: list[Import] = []       # via[k]: the import from stack[k] to stack[k + 1]

    def visit(module: str) -> None:
        stack.append(module)
        for imp in edges[module]:
            if imp.target in stack:
                ring = via[stack.index(imp.target):] + [imp]
                found.append(f"{ring[0].file}:{ring[0].line}: import cycle: "
                             + " -> ".join(f"{i.file}:{i.line} imports {i.target}" for i in ring))
            elif imp.target not in done:
                via.append(imp)
                visit(imp.target)
                via.pop()
        stack.pop()
        done.add(module)

    for module in sorted(edges):
        if module not in done:
            visit(module)
    return found


# ---- the shipped package ---------------------------------------------------------------------


def test_the_package_keeps_the_import_contract() -> None:
    problems = check(ROOT)
    assert not problems, "the import contract of ARCHITECTURE.md is broken:\n" + "\n".join(problems)


def test_every_folder_of_the_package_has_a_rule() -> None:
    folders = {p.name for p in (ROOT / PACKAGE).iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    assert folders <= set(FOLDERS), folders - set(FOLDERS)


# ---- the checker catches what it must (a synthetic package in tmp_path) ---------------------


def tree(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / PACKAGE / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    for folder in {Path(n).parent for n in files}:
        init = root / PACKAGE / folder / "__init__.py"
        if not init.exists():
            init.write_text("", encoding="utf-8")
    return root


GOOD = {
    "lang/ir.py": "import dataclasses\n",
    "prove/verify.py": "from ..lang.ir import dataclasses\nfrom ..lang import ir\n",
    "prove/solver.py": "import z3\n",
    "cli/report.py": "from ..prove import verify\n",
    "gate/ledger.py": "from ..cli.report import verify\nfrom . import cache\n",
    "gate/cache.py": "from .. import __version__\n",
    "__main__.py": "def entry():\n    from .cli.report import verify\n",
}


def test_a_clean_tree_passes(tmp_path: Path) -> None:
    assert check(tree(tmp_path, GOOD)) == []


def test_a_back_edge_is_reported_with_file_line_and_rule(tmp_path: Path) -> None:
    files = dict(GOOD)
    files["lang/resolve.py"] = '"""A resolver."""\n\ndef f():\n    from ..prove.verify import x   # late, still counts\n'
    assert check(tree(tmp_path, files)) == [
        "objcg_proof/lang/resolve.py:4: imports objcg_proof.prove.verify: lang/ may import only lang"]


@pytest.mark.parametrize("name, text, phrase", [
    ("gate/reports.py", "from ..cli.dispatch import main\n",
     "objcg_proof/gate/reports.py:1: imports objcg_proof.cli.dispatch: gate/ may import only cli.report, gate, lang, prove"),
    ("oracles/interpret.py", "from ..prove import solver\n",
     "objcg_proof/oracles/interpret.py:1: imports objcg_proof.prove.solver: oracles/ may import only lang, oracles"),
    ("__main__.py", "from .prove import verify\n",
     "objcg_proof/__main__.py:1: imports objcg_proof.prove.verify: the package root may import only cli"),
    ("__init__.py", "from .cli import report\n",
     "objcg_proof/__init__.py:1: imports objcg_proof.cli.report: the package's __init__.py may import nothing"),
    ("prove/verify.py", "import z3\n",
     "objcg_proof/prove/verify.py:1: imports z3: only prove/decode.py, prove/encode.py, prove/held.py, "
     "prove/lkmm.py, prove/lkmm_clocks.py, prove/lkmm_plain.py, prove/sc.py, prove/solver.py may import z3"),
    ("cli/report.py", "from tabulate import tabulate\n",
     "objcg_proof/cli/report.py:1: imports tabulate: only study/* may import tabulate"),
    ("lang/resolve.py", "if True:\n    from lark import Tree\n",
     "objcg_proof/lang/resolve.py:2: imports lark: only lang/litmus_parser.py, lang/parser.py may import lark"),
    ("litmus/front.py", "from ..lang import ir\n",
     "objcg_proof/litmus/__init__.py:1: folder litmus/ has no rule in test_architecture.FOLDERS"),
])
def test_each_rule_is_enforced(tmp_path: Path, name: str, text: str, phrase: str) -> None:
    files = dict(GOOD)
    files[name] = text
    problems = check(tree(tmp_path, files))
    assert any(p.startswith(phrase) for p in problems), problems


def test_a_cycle_is_reported(tmp_path: Path) -> None:
    files = dict(GOOD)
    files["prove/verify.py"] = "from . import solver\n"
    files["prove/solver.py"] = "import z3\n\nfrom .verify import x\n"
    problems = check(tree(tmp_path, files))
    assert len(problems) == 1 and "import cycle" in problems[0], problems
    assert "objcg_proof/prove/solver.py:3" in problems[0] and "objcg_proof/prove/verify.py:1" in problems[0]


def test_an_import_inside_a_function_or_for_type_checking_is_no_cycle(tmp_path: Path) -> None:
    files = dict(GOOD)
    files["prove/verify.py"] = "from . import solver\n"
    files["prove/solver.py"] = ("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from .verify import x\n"
                                "def f():\n    from .verify import y\n")
    assert check(tree(tmp_path, files)) == []
