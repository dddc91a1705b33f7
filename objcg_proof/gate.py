"""The CI gate's commands: `objcg-prove prove [--record]` and `objcg-prove check`.

`prove` is the default command made explicit; with `--record` it also writes each model's ledger
record (ledger.py). `check` verifies each model again with the bound and -D values of its record
(answering unchanged models from the result cache, cache.py), compares the verdicts with the
record and prints what differs; `--junit`, `--sarif` and `--json` write the same outcome for CI
systems (gate_report.py).

check's exit status: 0 every model as recorded (stale hashes and notes allowed); 1 some verdict
changed, or a property appeared or disappeared; 2 bad input (a bad model or option, a missing or
malformed record, -D/--bound unlike the record's); 3 some property the solver could not decide
now (unknown: never a pass); 4 internal error (a counterexample did not replay). When several
apply, the first in the order 2, 4, 1, 3 wins, as in cli.py.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from . import __version__, cli, ledger
from .batch import verify_models
from .cache import DEFAULT_CACHE_DIR, ResultCache, cache_key
from .diagnostics import SourceCache, UserError
from .files import write_atomically
from .gate_report import junit_xml, outcome_json, sarif_json
from .ledger import DEFAULT_LEDGER, FAIL, INCONCLUSIVE, LedgerError, ModelCheck
from .options import CommandParser, Exit, UsageError, add_jobs_option, parse_bound, parse_defines, parse_jobs, \
    parse_timeout
from .report import trace_text
from .solver import SolverOptions, z3_version
from .verdict import UNKNOWN, VACUOUS, VIOLATED
from .verify import VerifyOptions

PROVE_USAGE = "objcg-prove prove [prove options] [--record] [--ledger DIR] [--jobs N] MODEL..."
CHECK_USAGE = ("objcg-prove check [--ledger DIR] [--junit FILE] [--sarif FILE] [--json] [--no-cache] "
               "[--cache-dir DIR] [--jobs N] MODEL...")


def record_command(path: str, record: ledger.Record | None, ledger_dir: str) -> str:
    """The command that records `path` (with the record's bound and -D values, if any)."""
    words = ["objcg-prove", "prove", "--record"]
    if ledger_dir != DEFAULT_LEDGER:
        words += ["--ledger", ledger_dir]
    if record is not None:
        words += ["--bound", str(record.bound)]
        words += [f"-D{name}={value}" for name, value in record.params]
    return " ".join(words + [path])


# ---- prove [--record] ------------------------------------------------------------------------------


def prove_main(argv: list[str], stdout: TextIO, stderr: TextIO) -> int:
    parser = cli._parser()
    parser.prog = "objcg-prove prove"
    parser.out = stdout  # type: ignore[attr-defined]
    parser.add_argument("--record", action="store_true",
                        help="write each model's ledger record (the expected verdicts the gate holds it to)")
    parser.add_argument("--ledger", default=DEFAULT_LEDGER, metavar="DIR",
                        help="the ledger directory, beside the models (default %(default)s)")
    try:
        args = parser.parse_args(argv)
        options = cli.prove_options(args)
        jobs = parse_jobs(args.jobs)
        if args.record and args.property:
            raise UsageError("--record records every property of a model; it cannot be combined with --property")
    except Exit as done:
        return done.status
    except UsageError as exc:
        return cli.usage_error(stderr, str(exc), PROVE_USAGE)
    if not args.record:
        return cli.prove(args.models, options, stdout, stderr, as_json=args.json, allow_bounded=args.allow_bounded,
                         traces=not args.no_traces, jobs=jobs)
    try:
        targets = [ledger.record_path(args.ledger, m) for m in args.models]
    except LedgerError as exc:
        return cli.usage_error(stderr, str(exc), PROVE_USAGE)
    outcomes = verify_models(args.models, options, jobs=jobs, progress=stderr)
    status = cli.report_outcomes(outcomes, options, stdout, stderr, as_json=args.json,
                                 allow_bounded=args.allow_bounded, traces=not args.no_traces)
    if status in (cli.EXIT_USAGE, cli.EXIT_INTERNAL):
        stderr.write("objcg-prove: nothing recorded: fix the errors above first\n")
        return status
    refused = unwritable = False
    for outcome, target in zip(outcomes, targets):
        assert outcome.result is not None
        undecided = [p for p in outcome.result.properties if p.status in (UNKNOWN, VACUOUS)]
        if undecided:
            refused = True
            for p in undecided:
                why = (f"unknown ({p.reason}): raise --timeout or --rlimit" if p.status == UNKNOWN
                       else f"vacuous ({p.coverage}): fix the model so that the property is checked")
                stderr.write(f"{outcome.path}: not recorded: {p.name} is {why}; an expectation must be "
                             "proved, violated or bounded\n")
            continue
        record = ledger.make_record(args.ledger, outcome.result, options.defines, ledger.model_files(outcome.path),
                                    __version__, z3_version())
        try:
            _write_record(target, record, stderr)
        except OSError as exc:
            unwritable = True
            stderr.write(f"objcg-prove: error: cannot write {target}: {exc.strerror or exc}\n")
    if unwritable:
        return cli.EXIT_USAGE
    return cli.EXIT_INCONCLUSIVE if refused else status


def _write_record(target: Path, record: ledger.Record, stderr: TextIO) -> None:
    text = ledger.dumps(record)
    try:
        old: str | None = target.read_text(encoding="utf-8")
    except FileNotFoundError:
        old = None
    except UnicodeDecodeError:
        old = "(not UTF-8 text)"
    if old == text:
        stderr.write(f"{target}: unchanged\n")
        return
    write_atomically(target, text)
    if old is None:
        stderr.write(f"{target}: recorded\n")
        return
    try:
        changes = ledger.record_changes(ledger.loads(old, str(target)), record)
    except LedgerError as exc:
        changes = [f"replaced a malformed record ({exc})"]
    stderr.write(f"{target}: re-recorded; what changed:\n")
    for line in changes or ["only the layout of the file"]:
        stderr.write(f"    {line}\n")


# ---- check -----------------------------------------------------------------------------------------


def _check_parser() -> argparse.ArgumentParser:
    p = CommandParser(prog="objcg-prove check",
                    description="Verify models again and compare their verdicts with the proof ledger.")
    p.add_argument("models", nargs="+", metavar="MODEL", help="model files (.dsl)")
    p.add_argument("--ledger", default=DEFAULT_LEDGER, metavar="DIR",
                   help="the ledger directory, beside the models (default %(default)s)")
    p.add_argument("--junit", metavar="FILE", help="write a JUnit XML report")
    p.add_argument("--sarif", metavar="FILE", help="write a SARIF 2.1.0 report")
    p.add_argument("--json", action="store_true", help="print a machine-readable report")
    p.add_argument("--no-cache", action="store_true", help="solve every model again; neither read nor write the cache")
    p.add_argument("--cache-dir", default=DEFAULT_CACHE_DIR, metavar="DIR",
                   help="the result cache (default %(default)s in the current directory)")
    p.add_argument("--bound", "-k", type=str, default=None,
                   help="the bound (must be the record's; the record's bound is used by default)")
    p.add_argument("-D", dest="defines", action="append", default=[], metavar="NAME=VALUE",
                   help="a param value (must be the record's; the record's are used by default)")
    p.add_argument("--timeout", type=float, default=SolverOptions.timeout_s,
                   help="seconds per solver query (default %(default)s)")
    p.add_argument("--rlimit", type=int, default=0, help="z3 resource limit per query (0: none)")
    add_jobs_option(p)
    return p


def check_main(argv: list[str], stdout: TextIO, stderr: TextIO) -> int:
    parser = _check_parser()
    parser.out = stdout  # type: ignore[attr-defined]
    try:
        args = parser.parse_args(argv)
        timeout = parse_timeout(args.timeout)
        bound = parse_bound(args.bound)
        defines = dict(parse_defines(args.defines))
        jobs = parse_jobs(args.jobs)
    except Exit as done:
        return done.status
    except UsageError as exc:
        return cli.usage_error(stderr, str(exc), CHECK_USAGE)
    solver = SolverOptions(timeout_s=timeout, rlimit=args.rlimit)
    cache = None if args.no_cache else ResultCache(args.cache_dir)
    prepared = [_prepare(path, args.ledger, bound, defines, solver, cache) for path in args.models]
    checks = [check for check, _ in prepared]
    _solve([(check, pending) for check, pending in prepared if pending is not None], cache, jobs, stderr)
    if args.json:
        stdout.write(outcome_json(checks) + "\n")
    else:
        for check in checks:
            stdout.write(_model_text(check, args.ledger))
        passed = sum(c.status == "pass" for c in checks)
        stdout.write(f"gate: {passed} passed, {len(checks) - passed} failed\n")
    try:
        if args.junit:
            write_atomically(Path(args.junit), junit_xml(checks))
        if args.sarif:
            write_atomically(Path(args.sarif), sarif_json(checks))
    except OSError as exc:
        stderr.write(f"objcg-prove: error: cannot write {exc.filename}: {exc.strerror}\n")
        return cli.EXIT_USAGE
    for check in checks:
        for message in check.errors:
            stderr.write(message + "\n")
        for message in check.internal:
            stderr.write(f"objcg-prove: internal error: {message}\n")
    return _exit_status(checks)


@dataclass(frozen=True)
class _Pending:
    """A model whose record was read: the options and cache key it is solved with."""

    options: VerifyOptions
    key: str
    sha256: str


def _prepare(path: str, ledger_dir: str, bound: int | None, defines: dict[str, int], solver: SolverOptions,
             cache: ResultCache | None) -> tuple[ModelCheck, _Pending | None]:
    """Read the model's record and fingerprint the model; answer it from the cache if possible.
    The _Pending is None when there is nothing to solve (bad input, or a cache hit)."""
    try:
        file = ledger.record_path(ledger_dir, path)
    except LedgerError as exc:
        return ModelCheck(path, "", errors=[f"objcg-prove: error: {exc}"]), None
    check = ModelCheck(path, str(file))
    try:
        files = ledger.model_files(path)   # first: a model that cannot be read is the error to report
    except UserError as exc:
        check.errors.extend(d.render(SourceCache()) for d in exc.diagnostics)
        return check, None
    if not file.exists():
        check.errors.append(f"objcg-prove: error: {path}: no ledger record ({file} does not exist); record it with: "
                            f"{record_command(path, None, ledger_dir)}")
        return check, None
    try:
        record = check.record = ledger.load(file)
    except LedgerError as exc:
        check.errors.append(f"objcg-prove: error: {exc}")
        return check, None
    if bound is not None and bound != record.bound:
        check.errors.append(f"objcg-prove: error: {path}: --bound {bound}, but {file} was recorded with bound "
                            f"{record.bound}; re-record with --bound {bound} to change it")
    recorded = dict(record.params)
    for name, value in sorted(defines.items()):
        if recorded.get(name) != value:
            check.errors.append(f"objcg-prove: error: {path}: -D {name}={value}, but {file} was recorded with "
                                f"{_params_words(record.params)}; re-record with -D {name}={value} to change it")
    if check.errors:
        return check, None
    sha256 = ledger.digest([text for _, text in files])
    options = VerifyOptions(bound=record.bound, defines=record.params, solver=solver)
    pending = _Pending(options, cache_key(path, sha256, options, __version__, z3_version()), sha256)
    hit = cache.get(pending.key) if cache is not None else None
    if hit is None:
        return check, pending
    check.result, check.cached = hit, True
    check.findings = ledger.compare(record, hit, sha256)
    return check, None


def _params_words(params: tuple[tuple[str, int], ...]) -> str:
    return ", ".join(f"-D {k}={v}" for k, v in params) if params else "no -D values"


def _solve(work: list[tuple[ModelCheck, _Pending]], cache: ResultCache | None, jobs: int, stderr: TextIO) -> None:
    """Verify every model not answered from the cache, grouped by options, and compare."""
    groups: dict[VerifyOptions, list[tuple[ModelCheck, _Pending]]] = {}
    for check, pending in work:
        groups.setdefault(pending.options, []).append((check, pending))
    for options, group in groups.items():
        outcomes = verify_models([check.path for check, _ in group], options, jobs=jobs, progress=stderr)
        for (check, pending), outcome in zip(group, outcomes):
            if outcome.worker_errors or outcome.replay_failures:
                # a property that could not be checked: never a pass (it used to be, with --jobs)
                check.internal.extend(outcome.worker_errors + outcome.replay_failures)
                continue
            if outcome.result is None:
                check.errors.extend(d.render(outcome.sources) for d in outcome.diagnostics)
                continue
            assert check.record is not None
            check.result = outcome.result
            check.findings = ledger.compare(check.record, outcome.result, pending.sha256)
            if cache is not None:
                try:
                    cache.put(pending.key, outcome.result)
                except OSError as exc:
                    stderr.write(f"objcg-prove: warning: cannot write the cache entry for {check.path}: {exc}\n")


def _model_text(check: ModelCheck, ledger_dir: str) -> str:
    if check.errors or check.internal or check.result is None:
        return ""
    lines = []
    failing = [f for f in check.findings if f.severity in (FAIL, INCONCLUSIVE)]
    notes = [f for f in check.findings if f not in failing]
    cached = ", from the cache" if check.cached else ""
    if not failing:
        lines.append(f"{check.path}: as recorded ({len(check.result.properties)} properties, {check.record_file}{cached})")
    for f in failing:
        lines.append(f"{check.path}: {f.message}")
    for f in notes:
        lines.append(f"{check.path}: note: {f.message}")
    if any(f.property == "" for f in notes) or failing:
        lines.append(f"    to accept the new verdicts, re-record: {record_command(check.path, check.record, ledger_dir)}"
                     if failing else f"    to refresh it: {record_command(check.path, check.record, ledger_dir)}")
    failed_names = {f.property for f in failing}
    for p in check.result.properties:
        if p.name in failed_names and p.status == VIOLATED and p.trace is not None:
            lines.append("")
            lines.extend("    " + line for line in trace_text(check.path, p, p.trace).splitlines())
    return "\n".join(lines) + "\n"


def _exit_status(checks: list[ModelCheck]) -> int:
    statuses = {c.status for c in checks}
    if "error" in statuses:
        return cli.EXIT_USAGE
    if "internal" in statuses:
        return cli.EXIT_INTERNAL
    if FAIL in statuses:
        return cli.EXIT_VIOLATED
    if INCONCLUSIVE in statuses:
        return cli.EXIT_INCONCLUSIVE
    return cli.EXIT_PROVED
