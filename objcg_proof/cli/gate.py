"""The CI gate's commands: `objcg-prove prove [--record]` and `objcg-prove check`.

`prove` is the default command made explicit; with `--record` it also writes each model's ledger
record (gate/ledger.py). `check` verifies each model again with the bound and -D values of its record
(answering unchanged models from the result cache, gate/cache.py), compares the verdicts with the
record and prints what differs; `--junit`, `--sarif` and `--json` write the same outcome for CI
systems (gate/reports.py).

check's exit status: 0 every model as recorded (stale hashes and notes allowed); 1 some verdict
changed, a property appeared or disappeared, or a record was edited by hand or checks less than
its model declares (NOTE(record-seal) in gate/record.py); 2 bad input (a bad model or option, a
missing or malformed record, -D/--bound unlike the record's, a record's bound or -D values the
model refuses: blamed on the record's key); 3 some property the solver could not decide now
(unknown: never a pass); 4 internal error (a counterexample did not replay, a worker failed, or
any unexpected exception: one line naming the model, and the JSON, JUnit and SARIF outputs
still written, saying so). When several apply, the first in the order 2, 4, 1, 3 wins, as in
cli/dispatch.py.

A cached result is trusted only as far as it can be checked: its entry's sha256 must match
(gate/cache.py), and its counterexamples are replayed on the reference interpreter as fresh ones
are; an entry that fails either is ignored with a note on stderr, and the model solved again.

`prove --record` never replaces what is not a ledger record: a record path that is a directory,
a special file, a dangling symlink, or a file (or a symlink's target) without the ledger's
format in it is refused before anything is solved (exit 2). A symlink to a record is written
through, so the link stays. Likewise `check --junit/--sarif` refuses a file that is one of the
models, their records, or the other output (exit 2, nothing written).
"""

from __future__ import annotations

import argparse
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from . import dispatch as cli
from .. import __version__
from ..gate import ledger
from ..gate.cache import DEFAULT_CACHE_DIR, ResultCache, cache_key
from ..gate.files import same_file, write_atomically
from ..gate.ledger import DEFAULT_LEDGER, FAIL, INCONCLUSIVE, LedgerError, ModelCheck
from ..gate.reports import junit_xml, outcome_json, sarif_json
from ..lang.diagnostics import NO_SPAN, Diagnostic, SourceCache, UserError
from ..prove.solver import SolverOptions, z3_version
from ..prove.verdict import PROVED, UNKNOWN, VACUOUS, VIOLATED, ModelResult
from ..prove.verify import VerifyOptions
from ..runner.batch import replay_counterexamples, verify_models
from ..runner.dask_pool import DaskPool, SchedulerError, open_pool
from .options import CommandParser, Exit, UsageError, add_html_option, add_jobs_option, add_memory_model_option, add_scheduler_option, \
    parse_bound, parse_defines, parse_jobs, parse_rlimit, parse_scheduler, parse_timeout
from .drift import drift_text, run_drift
from .html_report import GateRow, Report, html_target, save_html
from .report import trace_columns, trace_text
from .style import PLAIN, OutputStyle, add_output_options, output_style

PROVE_USAGE = "objcg-prove prove [prove options] [--record] [--ledger DIR] [--jobs N | --scheduler ADDRESS] MODEL..."
CHECK_USAGE = ("objcg-prove check [--ledger DIR] [--junit FILE] [--sarif FILE] [--json] [--no-cache] "
               "[--cache-dir DIR] [--no-traces] [--layout table|columns] [--html DIR] [--kernel-tree DIR] [-q | -v] [--color WHEN] "
               "[--jobs N | --scheduler ADDRESS] MODEL...")


def record_command(path: str, record: ledger.Record | None, ledger_dir: str, least_bound: int | None = None,
                   memory_model: str = "sc") -> str:
    """The command that records `path` (with the record's bound and -D values, if any; a bound
    of at least `least_bound`, the model's own, which `prove --record` insists on) under
    `memory_model` (the record's, if any)."""
    words = ["objcg-prove", "prove", "--record"]
    if ledger_dir != DEFAULT_LEDGER:
        words += ["--ledger", ledger_dir]
    memory_model = record.memory_model if record is not None else memory_model
    if memory_model != "sc":
        words += ["--memory-model", memory_model]
    if record is not None:
        words += ["--bound", str(max(record.bound, least_bound or 0))]
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
        scheduler = parse_scheduler(args.scheduler, jobs)
        if args.record and args.property:
            raise UsageError("--record records every property of a model; it cannot be combined with --property")
        html_target(args.html)
    except Exit as done:
        return done.status
    except UsageError as exc:
        return cli.usage_error(stderr, str(exc), PROVE_USAGE)
    if not args.record:
        return cli.prove(args.models, options, stdout, stderr, as_json=args.json, allow_bounded=args.allow_bounded,
                         traces=not args.no_traces, jobs=jobs, scheduler=scheduler, dot=args.dot, layout=args.layout,
                         style=output_style(args, stdout, args.json), html=args.html, argv=["prove"] + argv)
    try:
        targets = [ledger.record_path(args.ledger, m, _memory_model_of(m, options.memory_model)) for m in args.models]
    except LedgerError as exc:
        return cli.usage_error(stderr, str(exc), PROVE_USAGE)
    refusals = [why for model, target in zip(args.models, targets) for why in _refuse_to_record(model, target, options)]
    if refusals:
        for why in refusals:
            stderr.write(f"objcg-prove: error: {why}\n")
        stderr.write("objcg-prove: nothing recorded: fix the errors above first\n")
        return cli.EXIT_USAGE
    try:
        with open_pool(scheduler) as pool:
            style = output_style(args, stdout, args.json)
            outcomes = verify_models(args.models, options, jobs=jobs, progress=style.progress(stderr),
                                     scheduler=pool, log=style.verbose)
    except SchedulerError as exc:
        status = cli.scheduler_error(stderr, exc)
        stderr.write("objcg-prove: nothing recorded\n")
        return status
    status = cli.report_outcomes(outcomes, options, stdout, stderr, as_json=args.json,
                                 allow_bounded=args.allow_bounded, traces=not args.no_traces, layout=args.layout,
                                 style=style)
    if args.html is not None and not cli.prove_html(args.html, ["prove"] + argv, outcomes,
                                                    None if args.json or style.quiet else stdout, stderr):
        status = max(status, cli.EXIT_USAGE)
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
            _write_record(target, ledger.writable_record(target), record, stderr)
        except LedgerError as exc:
            unwritable = True
            stderr.write(f"objcg-prove: error: {exc}\n")
        except OSError as exc:
            unwritable = True
            stderr.write(f"objcg-prove: error: cannot write {target}: {exc.strerror or exc}\n")
    if unwritable:
        return cli.EXIT_USAGE
    return cli.EXIT_INCONCLUSIVE if refused else status


def _memory_model_of(model: str, chosen: str | None) -> str:
    """The memory model `model` is verified under (--memory-model, else its declaration): its
    record's (NOTE(ledger-paths) in gate/record.py). A model that cannot be read: `chosen` or sc
    (the verifier reports its errors)."""
    try:
        return ledger.read_model(model).memory_model(chosen)
    except UserError:
        return chosen or "sc"


def _refuse_to_record(model: str, target: Path, options: VerifyOptions) -> list[str]:
    """Why the record of `model` must not be written (before anything is solved): its path holds
    something that is not a record, or --bound is below the model's own bound (the record would
    check less than the model declares, and `check` would fail it)."""
    out = []
    try:
        ledger.writable_record(target)
    except LedgerError as exc:
        out.append(str(exc))
    if options.bound is not None:
        try:
            declared = ledger.read_model(model).declared_bound(options.defines)
        except UserError:
            declared = None      # the verifier reports the model's errors
        if declared is not None and options.bound < declared:
            out.append(f"{model}: not recorded: --bound {options.bound} is below the model's own bound {declared}; "
                       "a record must check at least what the model declares (lower the model's 'bound' instead)")
    return out


def _write_record(target: Path, real: Path, record: ledger.Record, stderr: TextIO) -> None:
    """Write the record to `real` (`target`, or the record a symlink `target` points to)."""
    text = ledger.dumps(record)
    try:
        old: str | None = real.read_text(encoding="utf-8")
    except FileNotFoundError:
        old = None
    except UnicodeDecodeError:
        old = "(not UTF-8 text)"
    if old == text:
        stderr.write(f"{target}: unchanged\n")
        return
    write_atomically(real, text)
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
    p.add_argument("--rlimit", type=parse_rlimit, default=0, help="z3 resource limit per query (0: none)")
    add_memory_model_option(p, "check the record of the verdicts under this memory model (MODEL.json: sc, "
                               "MODEL.lkmm.json: lkmm); default: the model's `memory_model` declaration, else sc")
    add_jobs_option(p)
    add_scheduler_option(p)
    p.add_argument("--no-traces", action="store_true", help="print no counterexample of a failing property")
    p.add_argument("--layout", choices=("table", "columns"), default="table",
                   help="counterexamples as a table of steps (default), or one column per thread")
    add_html_option(p)
    p.add_argument("--kernel-tree", metavar="DIR",
                   help="first check that the models still mirror the C functions they name in this kernel tree "
                        "(objcg-prove drift); drift fails the gate")
    add_output_options(p)
    return p


def check_main(argv: list[str], stdout: TextIO, stderr: TextIO) -> int:
    parser = _check_parser()
    parser.out = stdout  # type: ignore[attr-defined]
    args: argparse.Namespace | None = None
    try:
        args = parser.parse_args(argv)
        timeout = parse_timeout(args.timeout)
        bound = parse_bound(args.bound)
        defines = dict(parse_defines(args.defines))
        jobs = parse_jobs(args.jobs)
        scheduler = parse_scheduler(args.scheduler, jobs)
        _refuse_to_overwrite_inputs(args)
        html_target(args.html)
    except Exit as done:
        return done.status
    except UsageError as exc:
        # the outputs say so too: a CI step that reads them never finds them missing or empty
        files_ok = args if not isinstance(exc, _WouldOverwrite) else None
        _write_outputs(_Outputs.of(files_ok, "--json" in argv, [], [f"error: {exc}"]), stdout, stderr)
        return cli.usage_error(stderr, str(exc), CHECK_USAGE)
    drifted = None
    if args.kernel_tree is not None:   # `objcg-prove drift` first: its lines, then the gate's
        drifted = run_drift(args.models, args.kernel_tree, None, stderr)
        if not args.json:
            stdout.write(drift_text(drifted))
    try:
        solver = SolverOptions(timeout_s=timeout, rlimit=args.rlimit)
        cache = None if args.no_cache else ResultCache(args.cache_dir)
        prepared = [_prepare(path, args.ledger, bound, defines, solver, cache, args.memory_model) for path in args.models]
        checks = [check for check, _ in prepared]
        work = [(check, pending) for check, pending in prepared if pending is not None]
        style = output_style(args, stdout, args.json)
        with open_pool(scheduler if work else None) as pool:
            _solve(work, cache, jobs, stderr, pool, style)
        passed = sum(c.status == "pass" for c in checks)
        failed = len(checks) - passed
        text = "".join(_model_text(check, args.ledger, not args.no_traces, args.layout, style) for check in checks) + \
            f"gate: {style.paint(f'{passed} passed', PROVED) if passed else '0 passed'}, " \
            f"{style.paint(f'{failed} failed', VIOLATED) if failed else '0 failed'}\n"
        outputs = _Outputs.of(args, args.json, checks, [])
    except SchedulerError as exc:   # --scheduler unusable: bad input, nothing was checked
        _write_outputs(_Outputs.of(args, args.json, [], [f"error: {exc}"]), stdout, stderr)
        return cli.scheduler_error(stderr, exc)
    except Exception as exc:   # noqa: BLE001  a tool bug outside any one model: one line, exit 4
        message = f"internal error: {', '.join(args.models)}: {cli.exception_words(exc)}"
        _write_outputs(_Outputs.of(args, args.json, [], [message]), stdout, stderr)
        stderr.write(f"objcg-prove: {message}\n")
        return cli.EXIT_INTERNAL
    if not args.json:
        stdout.write(text)
    if not _write_outputs(outputs, stdout, stderr):
        return cli.EXIT_USAGE
    if args.html is not None:
        page = _check_html(checks, args.ledger, argv, f"gate: {passed} passed, {failed} failed")
        if not save_html(args.html, page, None if args.json or style.quiet else stdout, stderr):
            return cli.EXIT_USAGE
    for check in checks:
        for message in check.notes:
            stderr.write(f"objcg-prove: note: {message}\n")
        for message in check.errors:
            stderr.write(message + "\n")
        for message in check.internal:
            stderr.write(f"objcg-prove: internal error: {cli.internal_error_text(message)}\n")
    status = _exit_status(checks)
    if drifted is not None and drifted.errors:   # bad input, as in a model's: exit 2
        return cli.EXIT_USAGE
    if drifted is not None and drifted.findings and status in (cli.EXIT_PROVED, cli.EXIT_INCONCLUSIVE):
        return cli.EXIT_VIOLATED   # drift fails the gate, as a changed verdict does
    return status


class _WouldOverwrite(UsageError):
    """An output file names an input: no output file is written at all."""


def _refuse_to_overwrite_inputs(args: argparse.Namespace) -> None:
    """--junit and --sarif must not name a model, its record, or each other: a mistyped option
    must not overwrite what the user wrote. Raises _WouldOverwrite."""
    outputs = [(option, file) for option, file in (("--junit", args.junit), ("--sarif", args.sarif)) if file]
    inputs = [(f"the model {m}", m) for m in args.models]
    for m in args.models:
        try:
            inputs.append((f"the ledger record of {m}",
                           str(ledger.record_path(args.ledger, m, _memory_model_of(m, args.memory_model)))))
        except LedgerError:
            pass
    for i, (option, file) in enumerate(outputs):
        for what, other in inputs + [(f"the file of {o}", f) for o, f in outputs[:i]]:
            if same_file(file, other):
                raise _WouldOverwrite(f"{option} {file} is {what}: it would be overwritten")


@dataclass(frozen=True)
class _Outputs:
    """The reports for machines, rendered before any is written (a fault while rendering is an
    internal error, with the error reports written instead, never half of them)."""

    json: str | None
    files: tuple[tuple[str, str], ...]   # (file, text): JUnit, SARIF

    @staticmethod
    def of(args: argparse.Namespace | None, as_json: bool, checks: list[ModelCheck], errors: list[str]) -> _Outputs:
        """`args` is None when the command line could not be parsed; `errors`: what went wrong
        for the whole command (a usage or internal error)."""
        wanted = [] if args is None else [(args.junit, junit_xml), (args.sarif, _sarif)]
        return _Outputs(outcome_json(checks, errors) if as_json else None,
                        tuple((file, render(checks, errors)) for file, render in wanted if file))


def _sarif(checks: list[ModelCheck], errors: list[str]) -> str:
    """The SARIF report, its %SRCROOT% the directory the command runs in: the paths of the
    models and of the files they include are relative to it (gate/reports.py)."""
    try:
        root: str | None = os.getcwd()
    except OSError:   # it no longer exists: %SRCROOT% is not known
        root = None
    return sarif_json(checks, errors, root=root)


def _write_outputs(outputs: _Outputs, stdout: TextIO, stderr: TextIO) -> bool:
    """Print the JSON report and write the files; False when a file cannot be written."""
    if outputs.json is not None:
        stdout.write(outputs.json + "\n")
    for file, text in outputs.files:
        try:
            write_atomically(Path(file), text)
        except OSError as exc:
            stderr.write(f"objcg-prove: error: cannot write {file}: {exc.strerror or exc}\n")
            return False
    return True


@dataclass(frozen=True)
class _Pending:
    """A model whose record was read: the options and cache key it is solved with."""

    options: VerifyOptions
    key: str
    now: ledger.Fingerprint


def gate_lookup(path: str, ledger_dir: str, solver: SolverOptions,
                cache: ResultCache) -> tuple[ModelResult | None, VerifyOptions | None, str]:
    """What `check` does first with `path`, for code that shares the gate's cache (the test suite:
    the six designs on the full scenario are solved once per run, by whichever of the gate and the
    verdict tests asks first). On a hit: the cached result, replayed, and no options or key. On a
    miss: None, the options `check` solves the model with and the key it stores the result under.
    Raises ValueError with check's own messages when the model or its record cannot be read."""
    check, pending = _prepare(path, ledger_dir, None, {}, solver, cache)
    if check.errors or check.internal:
        raise ValueError("\n".join(check.errors + check.internal))
    if pending is None:
        return check.result, None, ""
    return None, pending.options, pending.key


def _prepare(path: str, ledger_dir: str, bound: int | None, defines: dict[str, int], solver: SolverOptions,
             cache: ResultCache | None, chosen_model: str | None = None) -> tuple[ModelCheck, _Pending | None]:
    """Read the model's record (the one of its memory model: --memory-model, else its declaration)
    and fingerprint the model; answer it from the cache if possible. The _Pending is None when
    there is nothing to solve (bad input, a cache hit, or an internal error, which is the model's
    own and does not stop the others)."""
    memory_model = _memory_model_of(path, chosen_model)
    try:
        file = ledger.record_path(ledger_dir, path, memory_model)
    except LedgerError as exc:
        return ModelCheck(path, "", errors=[f"objcg-prove: error: {exc}"]), None
    check = ModelCheck(path, str(file))
    try:
        return check, _read_and_look_up(check, file, ledger_dir, bound, defines, solver, cache, memory_model)
    except Exception as exc:   # noqa: BLE001  a tool bug on this model: an internal error, never a verdict
        check.internal.append(f"{path}: {cli.exception_words(exc)}")
        return check, None


def _read_and_look_up(check: ModelCheck, file: Path, ledger_dir: str, bound: int | None, defines: dict[str, int],
                      solver: SolverOptions, cache: ResultCache | None, memory_model: str = "sc") -> _Pending | None:
    path = check.path
    try:
        facts = ledger.read_model(path)   # first: a model that cannot be read is the error to report
    except UserError as exc:
        check.errors.extend(d.render(SourceCache()) for d in exc.diagnostics)
        return None
    if not file.exists() and not file.is_symlink():
        check.errors.append(f"objcg-prove: error: {path}: no ledger record ({file} does not exist); record it with: "
                            f"{record_command(path, None, ledger_dir, memory_model=memory_model)}")
        return None
    try:
        record = check.record = ledger.load(file)
    except LedgerError as exc:
        check.errors.append(f"objcg-prove: error: {exc}")
        return None
    key = ledger.model_key(ledger_dir, path)
    if record.model != key:
        check.errors.append(f"objcg-prove: error: {ledger.key_span(str(file), ('model',))}: this record is for "
                            f"'{record.model}', not for '{key}' (copied from another model's record?); record "
                            f"the model with: {record_command(path, None, ledger_dir, memory_model=memory_model)}")
    if bound is not None and bound != record.bound:
        check.errors.append(f"objcg-prove: error: {path}: --bound {bound}, but {file} was recorded with bound "
                            f"{record.bound}; re-record with --bound {bound} to change it")
    recorded = dict(record.params)
    for name, value in sorted(defines.items()):
        if recorded.get(name) != value:
            check.errors.append(f"objcg-prove: error: {path}: -D {name}={value}, but {file} was recorded with "
                                f"{_params_words(record.params)}; re-record with -D {name}={value} to change it")
    if check.errors:
        return None
    now = ledger.fingerprint(ledger_dir, facts, record.params, __version__, z3_version())
    check.declared_bound = now.declared_bound
    if record.memory_model != memory_model:
        check.errors.append(f"objcg-prove: error: {ledger.key_span(str(file), ('memory_model',))}: this record holds "
                            f"verdicts under {record.memory_model}, but the model is checked under {memory_model} "
                            f"here; record it with: {record_command(path, None, ledger_dir, memory_model=memory_model)}")
        return None
    options = VerifyOptions(bound=record.bound, defines=record.params, solver=solver, memory_model=memory_model)
    pending = _Pending(options, cache_key(path, now.sha256, options, __version__, z3_version()), now)
    if cache is None:
        return pending
    hit, why = cache.get(pending.key)
    if hit is not None:
        why, hit = _replays(path, options, hit)
    if why:
        check.notes.append(f"{path}: ignored the cache entry {cache.file(pending.key)}: {why}; solving the model again")
        return pending
    if hit is None:
        return pending
    check.result, check.cached = hit, True
    check.findings = ledger.compare(record, hit, now)
    return None


def _replays(path: str, options: VerifyOptions, result: ModelResult) -> tuple[str, ModelResult]:
    """Why a cached result's counterexamples are not to be trusted ("" when each replays on the
    reference interpreter, as a fresh counterexample must before it is shown: NOTE(replay)),
    and the result with each counterexample the interpreter gave up on marked, as a fresh one is."""
    try:
        failures, result = replay_counterexamples(path, options, result)
    except Exception as exc:   # noqa: BLE001  the entry does not fit the model: solve again
        return f"its counterexamples could not be replayed ({cli.exception_words(exc)})", result
    return next(iter(failures.values()), ""), result


def _params_words(params: tuple[tuple[str, int], ...]) -> str:
    return ", ".join(f"-D {k}={v}" for k, v in params) if params else "no -D values"


def _solve(work: list[tuple[ModelCheck, _Pending]], cache: ResultCache | None, jobs: int, stderr: TextIO,
           pool: DaskPool | None = None, style: OutputStyle = PLAIN) -> None:
    """Verify every model not answered from the cache, grouped by options, and compare."""
    groups: dict[VerifyOptions, list[tuple[ModelCheck, _Pending]]] = {}
    for check, pending in work:
        groups.setdefault(pending.options, []).append((check, pending))
    for options, group in groups.items():
        try:
            outcomes = verify_models([check.path for check, _ in group], options, jobs=jobs,
                                     progress=style.progress(stderr), scheduler=pool, log=style.verbose)
        except Exception as exc:   # noqa: BLE001  a tool bug: each model of the group is an internal error
            for check, _ in group:
                check.internal.append(f"{check.path}: {cli.exception_words(exc)}")
            continue
        for (check, pending), outcome in zip(group, outcomes):
            if outcome.worker_errors or outcome.replay_failures:
                # a property that could not be checked: never a pass (it used to be, with --jobs)
                check.internal.extend(outcome.worker_errors + outcome.replay_failures)
                continue
            if outcome.result is None:
                check.errors.extend(_blame_record(d, check).render(outcome.sources) for d in outcome.diagnostics)
                continue
            assert check.record is not None
            check.result = outcome.result
            check.findings = ledger.compare(check.record, outcome.result, pending.now)
            if cache is not None:
                try:
                    cache.put(pending.key, outcome.result)
                except OSError as exc:
                    stderr.write(f"objcg-prove: warning: cannot write the cache entry for {check.path}: "
                                 f"{exc.strerror or exc}\n")


def _blame_record(d: Diagnostic, check: ModelCheck) -> Diagnostic:
    """A diagnostic about the bound or a -D value, which `check` takes from the record, is the
    record's: located at that key of the record file rather than at <command line> (or at the
    model's file with no line, where an unknown -D param is located: lang/names.py)."""
    if d.span.line != 0 or d.span.file not in (NO_SPAN.file, check.path) or check.record is None:
        return d
    at: tuple[str, ...] | None = None
    for name, _ in check.record.params:
        if re.search(rf"\b{re.escape(name)}\b", d.message):
            at = ("params", name)
            break
    if at is None and re.search(r"\bbound\b", d.message):
        at = ("bound",)
    if at is None:
        return d
    note = f"{check.record_file} holds the bound and -D values the model is checked with"
    return Diagnostic(ledger.key_span(check.record_file, at), d.message, d.notes + (note,))


def _model_text(check: ModelCheck, ledger_dir: str, traces: bool = True, layout: str = "table",
                style: OutputStyle = PLAIN) -> str:
    """A model's lines of the gate's report; with `style.quiet` only a failing model's, without
    counterexamples (NOTE(output-style))."""
    if check.errors or check.internal or check.result is None:
        return ""
    lines = []
    failing = [f for f in check.findings if f.severity in (FAIL, INCONCLUSIVE)]
    notes = [f for f in check.findings if f not in failing]
    cached = ", from the cache" if check.cached else ""
    if style.quiet and not failing:
        return ""
    if not failing:
        lines.append(f"{check.path}: {style.paint('as recorded', PROVED)} ({len(check.result.properties)} properties, "
                     f"{check.record_file}{cached})")
    for f in failing:
        lines.append(f"{check.path}: {style.paint(f.message, VIOLATED if f.severity == FAIL else UNKNOWN)}")
    for f in notes:
        lines.append(f"{check.path}: note: {f.message}")
    command = record_command(check.path, check.record, ledger_dir, check.declared_bound)
    if failing:
        lines.append(f"    to accept the new verdicts, re-record: {command}")
    elif any(f.property == "" for f in notes):
        lines.append(f"    to refresh it: {command}")
    failed_names = {f.property for f in failing}
    for p in check.result.properties:
        if traces and not style.quiet and p.name in failed_names and p.status == VIOLATED and p.trace is not None:
            lines.append("")
            render = trace_columns if layout == "columns" else trace_text
            lines.extend("    " + line for line in render(check.path, p, p.trace, style.full_trace).splitlines())
    return "\n".join(lines) + "\n"


def _check_html(checks: list[ModelCheck], ledger_dir: str, argv: list[str], summary: str) -> Report:
    """`check --html DIR`: each model against its record, then its verdicts and counterexamples
    (NOTE(html-report) in cli/html_report.py)."""
    report = Report("check", ("check", *argv), summary)
    for check in checks:
        failing = [f for f in check.findings if f.severity in (FAIL, INCONCLUSIVE)]
        messages = tuple(f.message for f in check.findings) + tuple(check.errors) + \
            tuple(f"internal error: {cli.internal_error_text(m)}" for m in check.internal)
        if check.status == "pass" and check.result is not None:
            cached = ", from the cache" if check.cached else ""
            messages = (f"as recorded ({len(check.result.properties)} properties{cached})", *messages)
        command = record_command(check.path, check.record, ledger_dir, check.declared_bound) if failing else None
        report.gate.append(GateRow(check.path, check.status, check.record_file, messages, command))
        if check.result is not None:
            report.add_result(check.result)
    return report


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
