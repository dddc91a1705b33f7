"""`objcg-prove compare`: alternative designs of one protocol, side by side.

Input: model files (the designs, usually sharing one harness), a parameter sweep (`-D NAME=v1,v2`,
the cartesian product of the value lists) and the prover's options. Output: one table, a row per
design and parameter setting, a column per property (the union over the designs, in a stable
order: leak, uaf, deadlock, then the designs' own properties in order of first appearance), and
per declared common path its static cost (study/cost.py). Then, for every property on which two designs
disagree in one setting (one violated, the other proved or bounded), the violating design's
shortest counterexample: the shortest execution that tells the two apart.

The verdicts come from `batch.verify_models`, as for the prover command; nothing is recomputed.
"""

from __future__ import annotations

import argparse
import csv
import io
import itertools
import json
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from tabulate import tabulate

from ..cli.options import CommandParser, Exit, UsageError, add_html_option, add_jobs_option, add_memory_model_option, add_scheduler_option, \
    parse_bound, parse_defines, parse_jobs, parse_rlimit, parse_scheduler, parse_timeout
from ..cli.html_report import Cell, Report, Table, html_target, save_html
from ..cli.report import trace_text
from ..cli.status import EXIT_INCONCLUSIVE, EXIT_INTERNAL, EXIT_PROVED, EXIT_USAGE, EXIT_VIOLATED, internal_error_text
from ..cli.status import known_properties
from ..lang.diagnostics import UserError, working_on
from ..prove.solver import SolverOptions
from ..prove.verdict import BOUNDED, PROVED, UNKNOWN, VACUOUS, VIOLATED, PropertyResult
from ..prove.verify import VerifyOptions
from ..runner.batch import ModelOutcome, verify_models
from ..runner.dask_pool import DaskPool, SchedulerError, open_pool
from .cost import PathCost, common_path_costs

FORMATS = ("plain", "github", "latex", "csv")
BUILTIN_ORDER = ("leak", "uaf", "deadlock")
ABSENT = "absent"
LEGEND = ("cell: status, kK the bound, N st the steps of the shortest counterexample, seconds; proved = no "
          "violation and the bound covered every execution; bounded = no violation within the bound, but some "
          "execution goes on past it; absent = the design has no such property.")
PATH_LEGEND = ("common path: atomic read-modify-writes / shared loads / shared stores on the declared path, "
               "counted by running it from its 'given' state (docs/dsl.md, common_path).")

Setting = tuple[tuple[str, int], ...]


@dataclass(frozen=True)
class Row:
    """One design in one parameter setting: its verdicts and the cost of its common paths."""

    design: str
    setting: Setting
    outcome: ModelOutcome
    costs: tuple[PathCost, ...]

    def prop(self, name: str) -> PropertyResult | None:
        assert self.outcome.result is not None
        found = [p for p in self.outcome.result.properties if p.name == name]
        return found[0] if found else None


# ---- the command line -----------------------------------------------------------------------

def _parser() -> argparse.ArgumentParser:
    p = CommandParser(prog="objcg-prove compare", description="Compare designs: one table of verdicts over a parameter sweep, "
                "the executions that tell designs apart, the cost of each design's common path.")
    p.add_argument("models", nargs="+", metavar="MODEL", help="the designs (.dsl)")
    p.add_argument("-D", dest="sweep", action="append", default=[], metavar="NAME=V1,V2,...",
                   help="sweep a param over these values (repeatable: the cartesian product)")
    p.add_argument("--bound", "-k", type=str, default=None, help="loop unrolling bound (overrides the models' 'bound')")
    p.add_argument("--format", default="plain", help="table format: plain, github, latex or csv (default plain)")
    p.add_argument("--property", "-p", action="append", default=[], help="check only this property (name or kind); repeatable")
    p.add_argument("--timeout", type=float, default=SolverOptions.timeout_s, help="seconds per solver query (default %(default)s)")
    p.add_argument("--rlimit", type=parse_rlimit, default=0, help="z3 resource limit per query (0: none)")
    p.add_argument("--json", action="store_true", help="print a machine-readable report instead of the table")
    p.add_argument("--no-traces", action="store_true",
                   help="name the designs that disagree, without their distinguishing executions")
    add_html_option(p)
    p.add_argument("--full-trace", action="store_true",
                   help="print every step of a distinguishing execution, not only the steps its violation depends on")
    add_memory_model_option(p)
    add_jobs_option(p)
    add_scheduler_option(p)
    return p


def parse_sweep(items: list[str]) -> list[Setting]:
    """`-D NAME=v1,v2` items -> every setting of the cartesian product, in order."""
    axes: dict[str, list[int]] = {}
    for item in items:
        name, sep, values = item.partition("=")
        if not sep or not values or any(not v.strip() for v in values.split(",")):
            raise UsageError(f"-D {item}: expected NAME=V1,V2,..., as in -D ALLOCS=1,2,3")
        if name in axes:
            raise UsageError(f"-D {item}: '{name}' is swept twice; give all its values in one -D")
        axes[name] = [value for (_, value) in parse_defines([f"{name}={v.strip()}" for v in values.split(",")])]
    names = tuple(axes)
    return [tuple(zip(names, combo)) for combo in itertools.product(*axes.values())]


def compare_main(argv: list[str], stdout: TextIO, stderr: TextIO) -> int:
    parser = _parser()
    parser.out = stdout  # type: ignore[attr-defined]
    try:
        args = parser.parse_args(argv)
        if args.format not in FORMATS:
            raise UsageError(f"--format {args.format}: expected one of {', '.join(FORMATS)}")
        parse_timeout(args.timeout)
        settings = parse_sweep(args.sweep)
        bound = parse_bound(args.bound)
        jobs = parse_jobs(args.jobs)
        scheduler = parse_scheduler(args.scheduler, jobs)
        html_target(args.html)
    except Exit as done:
        return done.status
    except UsageError as exc:
        stderr.write(f"objcg-prove compare: error: {exc}\n")
        stderr.write("usage: objcg-prove compare MODEL... [-D NAME=V1,V2,...]... [--bound K] "
                     "[--format plain|github|latex|csv | --json] [--no-traces] [--property P]... [--timeout S] "
                     "[--rlimit N] [--memory-model sc|lkmm] [--html DIR] [--jobs N | --scheduler ADDRESS]\n")
        return EXIT_USAGE
    base = VerifyOptions(bound=bound, solver=SolverOptions(timeout_s=args.timeout, rlimit=args.rlimit),
                         only=tuple(args.property), memory_model=args.memory_model)
    try:
        with open_pool(scheduler) as pool:
            return compare(args.models, settings, base, args.format, stdout, stderr, jobs, pool,
                           as_json=args.json, traces=not args.no_traces, full_trace=args.full_trace,
                           html=args.html, argv=argv)
    except SchedulerError as exc:   # --scheduler unusable: bad input, nothing was checked
        stderr.write(f"objcg-prove compare: error: {exc}\n")
        return EXIT_USAGE


# ---- running the designs ----------------------------------------------------------------------

@dataclass
class Collected:
    rows: list[Row]
    bad_input: bool = False
    internal: bool = False


def collect(paths: list[str], settings: list[Setting], base: VerifyOptions, stderr: TextIO, jobs: int = 1,
            pool: DaskPool | None = None) -> Collected:
    """Verify every design in every setting; diagnostics and tool errors go to `stderr`."""
    names = design_names(paths)
    got = Collected([])
    for setting in settings:
        options = VerifyOptions(base.bound, setting, base.solver, base.minimize, base.only, base.memory_model)
        for outcome in verify_models(paths, options, jobs=jobs, progress=stderr, scheduler=pool):
            if outcome.worker_errors:   # a worker failed on it: an internal error, no row
                got.internal = True
                for failure in outcome.worker_errors:
                    stderr.write(f"objcg-prove: internal error: {internal_error_text(failure)}\n")
                continue
            if outcome.bad_input:
                got.bad_input = True
                for d in outcome.diagnostics:
                    stderr.write(d.render(outcome.sources) + "\n")
                continue
            if outcome.replay_failures:
                got.internal = True   # NOTE(replay) in cli/dispatch.py: never shown as a counterexample
                for failure in outcome.replay_failures:
                    stderr.write(f"objcg-prove: internal error: {failure}\n")
                continue
            try:
                with working_on(outcome.path):
                    costs = common_path_costs(outcome.path, setting, base.bound)
            except UserError as exc:
                got.bad_input = True
                for d in exc.diagnostics:
                    stderr.write(d.render(outcome.sources) + "\n")
                continue
            got.rows.append(Row(names[outcome.path], setting, outcome, tuple(costs)))
        if got.bad_input:
            break   # the same bad input would be reported again for every setting
    for name in base.only:
        if got.rows and not any(p.name == name or p.kind == name for r in got.rows for p in _props(r)):
            got.bad_input = True
            every = list(dict.fromkeys(n for r in got.rows for n in r.outcome.every))
            stderr.write(f"objcg-prove compare: error: --property {name}: no model has a property of that name or kind"
                         f"{known_properties(every, 'its' if len({r.outcome.path for r in got.rows}) == 1 else 'their')}\n")
    return got


def compare(paths: list[str], settings: list[Setting], base: VerifyOptions, fmt: str, stdout: TextIO,
            stderr: TextIO, jobs: int = 1, pool: DaskPool | None = None, as_json: bool = False,
            traces: bool = True, full_trace: bool = False, html: str | None = None, argv: list[str] | None = None) -> int:
    got = collect(paths, settings, base, stderr, jobs, pool)
    if got.bad_input:
        if as_json:   # a JSON reader gets a document on every outcome; the errors are on stderr
            stdout.write(json.dumps({"schema_version": JSON_SCHEMA_VERSION, "rows": [], "disagreements": [],
                                     "bad_input": True}, indent=2) + "\n")
        return EXIT_USAGE
    columns = property_columns(got.rows)
    if as_json:
        stdout.write(compare_json(got.rows, columns) + "\n")
    else:
        stdout.write(render(got.rows, columns, fmt))
        if fmt != "csv":
            stdout.write(prose(disagreements_text(got.rows, columns, traces, full_trace), fmt))
    if html is not None and not save_html(html, compare_html(got.rows, columns, list(argv or paths)), None, stderr):
        return EXIT_USAGE
    if got.internal:
        return EXIT_INTERNAL
    statuses = {p.status for r in got.rows for p in _props(r)}
    if VIOLATED in statuses:
        return EXIT_VIOLATED
    if statuses & {UNKNOWN, VACUOUS, BOUNDED}:
        return EXIT_INCONCLUSIVE
    return EXIT_PROVED


def _props(row: Row) -> tuple[PropertyResult, ...]:
    assert row.outcome.result is not None
    return row.outcome.result.properties


def design_names(paths: list[str]) -> dict[str, str]:
    """A design's name in the table: the file name without `.dsl`, or the path when two clash."""
    stems = [Path(p).stem for p in paths]
    return {p: (s if stems.count(s) == 1 else p) for p, s in zip(paths, stems)}


def property_columns(rows: list[Row]) -> list[str]:
    """The union of the designs' properties: leak, uaf, deadlock, then the rest as first seen."""
    seen: list[str] = []
    for r in rows:
        for p in _props(r):
            if p.name not in seen:
                seen.append(p.name)
    return [n for n in BUILTIN_ORDER if n in seen] + [n for n in seen if n not in BUILTIN_ORDER]


def path_columns(rows: list[Row]) -> list[str]:
    seen: list[str] = []
    for r in rows:
        for c in r.costs:
            if c.name not in seen:
                seen.append(c.name)
    return seen


# ---- the table ----------------------------------------------------------------------------------

def cell(p: PropertyResult | None) -> str:
    if p is None:
        return ABSENT
    words = [p.status, f"k{p.bound}"]
    if p.status == VIOLATED and p.trace is not None:
        words.append(f"{len(p.trace.steps)} st" + ("" if p.trace.shortest else " (not minimal)"))
    words.append(f"{p.time_s:.1f}s")
    return " ".join(words)


def cost_cell(costs: tuple[PathCost, ...], name: str) -> str:
    found = [c for c in costs if c.name == name]
    if not found:
        return ABSENT
    c = found[0]
    return f"{c.rmw} / {c.loads} / {c.stores}"


def table_cells(rows: list[Row], columns: list[str]) -> tuple[list[str], list[list[tuple[str, PropertyResult | None]]]]:
    """The table as the text and the HTML report show it: its head, and per row its cells, each
    with the property result it shows (None for the other cells)."""
    params = [name for name, _ in rows[0].setting] if rows else []
    paths = path_columns(rows)
    models = _memory_model_column(rows)
    head = ["design"] + models + params + columns + [f"{n} (rmw / ld / st)" for n in paths]
    body: list[list[tuple[str, PropertyResult | None]]] = []
    for r in rows:
        line: list[tuple[str, PropertyResult | None]] = [(r.design, None)]
        line += [(c, None) for c in _memory_model_cells(r, models)] + [(str(v), None) for _, v in r.setting]
        line += [(cell(r.prop(c)), r.prop(c)) for c in columns] + [(cost_cell(r.costs, n), None) for n in paths]
        body.append(line)
    return head, body


def legend(rows: list[Row]) -> str:
    return LEGEND + ("\n" + PATH_LEGEND if path_columns(rows) else "")


def render(rows: list[Row], columns: list[str], fmt: str) -> str:
    if fmt == "csv":
        return _csv(rows, columns, [name for name, _ in rows[0].setting] if rows else [], path_columns(rows))
    head, body = table_cells(rows, columns)
    table = tabulate([[text for text, _ in line] for line in body], headers=head, tablefmt=fmt)
    return f"{table}\n\n{prose(legend(rows), fmt)}\n"


def compare_html(rows: list[Row], columns: list[str], argv: list[str]) -> Report:
    """`compare --html DIR`: the table, each cell of a violated property linked to its
    counterexample, and which designs tell apart (NOTE(html-report) in cli/html_report.py)."""
    statuses = [p.status for r in rows for p in _props(r)]
    counts = ", ".join(f"{statuses.count(s)} {s}" for s in (PROVED, VIOLATED, BOUNDED, UNKNOWN, VACUOUS)
                       if statuses.count(s))
    designs = len({r.design for r in rows})
    settings = len({r.setting for r in rows})
    report = Report("compare", ("compare", *argv),
                    f"compare: {designs} design{'s' * (designs != 1)} in {settings} setting{'s' * (settings != 1)}, "
                    f"{len(statuses)} verdicts: {counts or 'none'}")
    links: dict[int, str] = {}
    for r in rows:
        assert r.outcome.result is not None
        suffix = "".join(f"-{k}{v}" for k, v in r.setting)
        for p in _props(r):
            if p.status == VIOLATED and p.trace is not None:
                links[id(p)] = report.add_trace(r.outcome.path, p, p.trace, suffix)
    head, body = table_cells(rows, columns)
    notes = [line for line in legend(rows).split("\n")]
    for setting, name, bad, good in disagreements(rows, columns):
        where = "" if not setting else " (" + ", ".join(f"{k}={v}" for k, v in setting) + ")"
        notes.append(f"{name}{where}: violated by {', '.join(r.design for r in bad)}; "
                     f"not by {', '.join(g.design for g in good)}.")
    report.tables.append(Table("The designs side by side", tuple(head),
                               tuple(tuple(Cell(text, p.status if p is not None else (ABSENT if text == ABSENT else None),
                                                links.get(id(p)) if p is not None else None)
                                           for text, p in line) for line in body),
                               tuple(notes)))
    return report


def _memory_model_column(rows: list[Row]) -> list[str]:
    """A "memory model" column when some design is verified under another memory model than
    sequential consistency (--memory-model, or its declaration); none otherwise."""
    return ["memory model"] if any(r.outcome.result is not None and r.outcome.result.memory_model != "sc"
                                   for r in rows) else []


def _memory_model_cells(row: Row, column: list[str]) -> list[str]:
    return [row.outcome.result.memory_model if row.outcome.result is not None else ""] if column else []


def prose(text: str, fmt: str) -> str:
    """Text around the table; for latex, comment lines, so the output stays a LaTeX fragment."""
    if fmt != "latex" or not text:
        return text
    return "\n".join(f"% {line}" if line else "%" for line in text.split("\n"))


def _csv(rows: list[Row], columns: list[str], params: list[str], paths: list[str]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    models = _memory_model_column(rows)
    head = ["design", "model"] + models + params
    for c in columns:
        head += [f"{c}.status", f"{c}.bound", f"{c}.steps", f"{c}.time_s"]
    for n in paths:
        head += [f"{n}.rmw", f"{n}.loads", f"{n}.stores"]
    writer.writerow(head)
    for r in rows:
        line: list[object] = [r.design, r.outcome.path] + _memory_model_cells(r, models) + [v for _, v in r.setting]
        for c in columns:
            p = r.prop(c)
            if p is None:
                line += [ABSENT, "", "", ""]
            else:
                steps = len(p.trace.steps) if p.status == VIOLATED and p.trace is not None else ""
                line += [p.status, p.bound, steps, f"{p.time_s:.3f}"]
        for n in paths:
            found = [c for c in r.costs if c.name == n]
            line += [found[0].rmw, found[0].loads, found[0].stores] if found else ["", "", ""]
        writer.writerow(line)
    return out.getvalue()


# ---- distinguishing executions -----------------------------------------------------------------

def disagreements(rows: list[Row], columns: list[str]) -> list[tuple[Setting, str, list[Row], list[Row]]]:
    """Each (setting, property) on which designs disagree: the designs that violate it, and
    those that do not (proved or bounded)."""
    found = []
    for setting in dict.fromkeys(r.setting for r in rows):
        here = [r for r in rows if r.setting == setting]
        for name in columns:
            bad = [r for r in here if (p := r.prop(name)) is not None and p.status == VIOLATED]
            good = [r for r in here if (p := r.prop(name)) is not None and p.status in (PROVED, BOUNDED)]
            if bad and good:
                found.append((setting, name, bad, good))
    return found


def disagreements_text(rows: list[Row], columns: list[str], traces: bool = True, full_trace: bool = False) -> str:
    """For each setting and property on which designs disagree, each violating design's shortest
    counterexample (with `traces`), naming the designs without a violation that it tells it apart from."""
    out: list[str] = []
    for setting, name, bad, good in disagreements(rows, columns):
        where = "" if not setting else " (" + ", ".join(f"{k}={v}" for k, v in setting) + ")"
        out.append(f"{name}{where}: violated by {', '.join(r.design for r in bad)}; "
                   f"not by {', '.join(g.design for g in good)}.")
        if not traces:
            continue
        for r in bad:
            p = r.prop(name)
            assert p is not None and p.trace is not None
            out.append(f"The shortest execution of {r.design} that violates {name} ({len(p.trace.steps)} steps) "
                       f"tells it apart from {', '.join(g.design for g in good)}:")
            out += [f"  {line}" for line in _no_violation(good, name)]
            out.append(trace_text(r.outcome.path, p, p.trace, full_trace))
            out.append("")
    if not out:
        return ""
    return "\nDistinguishing executions\n\n" + "\n".join(out) + ("\n" if not traces else "")


# ---- JSON -------------------------------------------------------------------------------------

JSON_SCHEMA_VERSION = 1   # of `compare --json` (objcg_proof/schemas/compare.schema.json; NOTE(json-schemas) in cli/report.py)


def compare_json(rows: list[Row], columns: list[str]) -> str:
    """`compare --json`: a row per design and setting, as the table has them; absent values are
    null. The distinguishing executions are named, not printed: `prove --json` on one design gives
    a counterexample's steps."""
    def prop(p: PropertyResult | None) -> dict[str, object] | None:
        if p is None:
            return None
        steps = len(p.trace.steps) if p.status == VIOLATED and p.trace is not None else None
        return {"status": p.status, "bound": p.bound, "steps": steps, "time_s": round(p.time_s, 3),
                "coverage": p.coverage or None, "reason": p.reason or None}

    body = {
        "schema_version": JSON_SCHEMA_VERSION,
        "rows": [{"design": r.design, "model": r.outcome.path,
                  "memory_model": r.outcome.result.memory_model if r.outcome.result is not None else None,
                  "setting": dict(r.setting),
                  "properties": {c: prop(r.prop(c)) for c in columns},
                  "common_paths": {c.name: {"rmw": c.rmw, "loads": c.loads, "stores": c.stores} for c in r.costs}}
                 for r in rows],
        "disagreements": [{"setting": dict(setting), "property": name, "violated_by": [r.design for r in bad],
                           "not_by": [g.design for g in good]}
                          for setting, name, bad, good in disagreements(rows, columns)],
    }
    return json.dumps(body, indent=2)


def _no_violation(good: list[Row], name: str) -> list[str]:
    """What the designs without a violation say, grouped by the bound and what it covered."""
    groups: dict[tuple[int, bool, str], list[str]] = {}
    for g in good:
        p = g.prop(name)
        assert p is not None
        groups.setdefault((p.bound, p.status == PROVED, p.coverage), []).append(g.design)
    lines = []
    for (bound, covered, coverage), designs in groups.items():
        who = ", ".join(designs)
        if covered:
            lines.append(f"{who}: no such execution within the bound {bound}, which covered every execution")
        else:
            lines.append(f"{who}: no such execution within the bound {bound}, but that bound did not cover every "
                         f"execution ({coverage})")
    return lines
