"""Command line: `objcg-prove [options] MODEL...`.

Commands are functions `(argv, stdout, stderr) -> exit status`, testable in-process.
Exit status: 0 every property proved; 1 some property violated; 2 bad input or usage;
3 otherwise (some property bounded, unknown or vacuous; with --allow-bounded, bounded counts as 0);
4 internal error: a counterexample did not replay on the reference interpreter, a --jobs or --scheduler worker failed
or stopped answering (for that property: the other properties' verdicts are still printed), or any
other tool bug (NOTE(internal-errors) in lang/diagnostics.py);
130 interrupted (Ctrl-C); 141 the reader of the output went away (`| head`).

Every command runs inside `main`, which turns what escapes it into one line on stderr: an
unexpected exception is `objcg-prove: internal error: MODEL: TYPE: message` (exit 4; set
OBJCG_PROVE_DEBUG=1 to get the traceback as well), Ctrl-C is `objcg-prove: interrupted` (exit
130; worker processes are ended, and files are only ever written whole: gate/files.py).
"""

from __future__ import annotations

import argparse
import atexit
import contextvars
import importlib
import os
import platform
import signal
import sys
import threading
import traceback
from typing import NoReturn, TextIO

from .. import __version__
from ..lang.diagnostics import NO_SPAN, SourceCache, UserError, model_of
from ..prove.solver import SolverOptions, z3_version
from ..prove.verdict import BOUNDED, UNKNOWN, VACUOUS, VIOLATED, ModelResult
from ..prove.verify import VerifyOptions
from ..runner.batch import ModelOutcome, verify_models
from ..runner.dask_pool import SchedulerError, open_pool
from .options import CommandParser, Exit, UsageError, add_jobs_option, parse_bound, parse_defines, parse_jobs, parse_timeout
from .options import add_html_option, add_memory_model_option, add_scheduler_option, parse_rlimit, parse_scheduler
from .html_report import Report, html_target, save_html
from .report import model_text, to_json, write_dot
from .style import PLAIN, OutputStyle, add_output_options, output_style
from .status import (DEBUG_VARIABLE, EXIT_BROKEN_PIPE, EXIT_INCONCLUSIVE, EXIT_INTERNAL, EXIT_INTERRUPTED,  # noqa: F401
                     EXIT_PROVED, EXIT_USAGE, EXIT_VIOLATED, debugging, exception_words, internal_error_line,
                     internal_error_text, known_properties)


COMMANDS_HELP = """commands (each has its own --help):
  prove     verify models (the default: `objcg-prove MODEL...` is `objcg-prove prove MODEL...`)
  check     the CI gate: hold models to the verdicts recorded in proofs/
  simulate  run random schedules of a model on the interpreter
  export    write a model as Promela for SPIN
  mutate    mutate a model and tell which mutants the properties catch
  compare   verdict tables of several designs across parameter settings
  litmus    run the kernel's C litmus tests under the LKMM
  drift     check that the models still mirror the kernel C functions they name
  help      this text, or `help COMMAND` for a command's own

exit status: 0 every property proved (with --allow-bounded: proved or bounded); 1 a property
violated; 2 bad input or usage; 3 otherwise (a property bounded, unknown or vacuous);
4 internal error (a tool bug); 130 interrupted; 141 the reader of the output went away."""


def version_text() -> str:
    """What --version prints: this tool's version and the solver's, which verdicts depend on."""
    return f"objcg-prove {__version__} (z3 {z3_version()}, Python {platform.python_version()})"


def _parser() -> argparse.ArgumentParser:
    p = CommandParser(prog="objcg-prove", description="Prove lock-free kernel protocols correct up to a bound, or show how they break.",
                      epilog=COMMANDS_HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("models", nargs="+", metavar="MODEL", help="model files (.dsl)")
    p.add_argument("--bound", "-k", type=str, default=None, help="loop unrolling bound (overrides the model's 'bound')")
    p.add_argument("-D", dest="defines", action="append", default=[], metavar="NAME=VALUE", help="override a param")
    p.add_argument("--json", action="store_true", help="print a machine-readable report")
    p.add_argument("--allow-bounded", action="store_true", help="exit 0 when properties are proved or bounded")
    p.add_argument("--timeout", type=float, default=SolverOptions.timeout_s, help="seconds per solver query (default %(default)s)")
    p.add_argument("--rlimit", type=parse_rlimit, default=0, help="z3 resource limit per query (0: none)")
    p.add_argument("--property", "-p", action="append", default=[], help="check only this property (name or kind); repeatable")
    p.add_argument("--no-traces", action="store_true", help="print verdicts only")
    p.add_argument("--layout", choices=("table", "columns"), default="table",
                   help="counterexamples as a table of steps (default), or one column per thread, "
                        "time going down, as kernel commit messages draw races")
    p.add_argument("--dot", metavar="DIR", default=None,
                   help="write each weak-memory counterexample's execution graph, DIR/MODEL.PROPERTY.dot")
    add_html_option(p)
    add_memory_model_option(p)
    add_jobs_option(p)
    add_scheduler_option(p)
    add_output_options(p)
    p.add_argument("--version", "-V", action="version", version=version_text())
    return p


# Subcommands: `objcg-prove NAME ...` runs module.function(argv, stdout, stderr) -> exit status.
# Without a subcommand, `objcg-prove [options] MODEL...` proves the models.
SUBCOMMANDS: dict[str, tuple[str, str]] = {
    "prove": ("objcg_proof.cli.gate", "prove_main"),
    "check": ("objcg_proof.cli.gate", "check_main"),
    "simulate": ("objcg_proof.cli.simulate", "simulate_main"),
    "export": ("objcg_proof.cli.export", "export_main"),
    "mutate": ("objcg_proof.study.mutate", "mutate_main"),
    "compare": ("objcg_proof.study.compare", "compare_main"),
    "litmus": ("objcg_proof.cli.litmus", "litmus_main"),
    "drift": ("objcg_proof.cli.drift", "drift_main"),
}


def main(argv: list[str] | None = None, stdout: TextIO | None = None, stderr: TextIO | None = None) -> int:
    """Run one command (a subcommand, or proving); what escapes it becomes one line on stderr."""
    stdout = stdout or sys.stdout
    stderr = stderr or sys.stderr
    argv = list(sys.argv[1:] if argv is None else argv)
    return contextvars.copy_context().run(_guarded, argv, stdout, stderr)


def _guarded(argv: list[str], stdout: TextIO, stderr: TextIO) -> int:
    try:
        return _command(argv, stdout, stderr)
    except KeyboardInterrupt:
        return _interrupted(stdout, stderr)
    except UserError as exc:   # a command lets bad input through: still bad input, not a tool bug
        for d in exc.diagnostics:
            stderr.write(d.render(SourceCache()) + "\n")
        return EXIT_USAGE
    except BrokenPipeError:
        # whoever read the output stopped (`objcg-prove ... | head`): stop quietly, as a shell
        # reports a command ended by SIGPIPE (the --jobs workers' pipes never raise this far)
        if stdout is sys.__stdout__:
            try:
                os.dup2(os.open(os.devnull, os.O_WRONLY), stdout.fileno())   # nothing left to flush at exit
            except (OSError, ValueError):
                pass
        return EXIT_BROKEN_PIPE
    except Exception as exc:   # noqa: BLE001  NOTE(internal-errors) in lang/diagnostics.py
        if _SIGINT_SEEN.is_set():
            return _interrupted(stdout, stderr)   # a KeyboardInterrupt that a library wrapped
        _flush(stdout)
        stderr.write(internal_error_line(exc) + "\n")
        if debugging():
            stderr.write(traceback.format_exc())
        return EXIT_INTERNAL


def _help(argv: list[str], stdout: TextIO, stderr: TextIO) -> int:
    """`objcg-prove help` is `--help`; `help COMMAND` is `COMMAND --help`."""
    if not argv:
        stdout.write(_parser().format_help())
        return EXIT_PROVED
    if len(argv) == 1 and argv[0] in SUBCOMMANDS:
        return _command([argv[0], "--help"], stdout, stderr)
    known = ", ".join(sorted(SUBCOMMANDS))
    stderr.write(f"objcg-prove: help: no command {' '.join(argv)!r} (the commands: {known})\n")
    return EXIT_USAGE


def _interrupted(stdout: TextIO, stderr: TextIO) -> int:
    _flush(stdout)
    stderr.write("objcg-prove: interrupted\n")
    return EXIT_INTERRUPTED


def _flush(stream: TextIO) -> None:
    try:
        stream.flush()
    except (OSError, ValueError):
        pass


def _command(argv: list[str], stdout: TextIO, stderr: TextIO) -> int:
    if argv and argv[0] == "help":
        return _help(argv[1:], stdout, stderr)
    if argv and argv[0] in SUBCOMMANDS:
        module_name, func = SUBCOMMANDS[argv[0]]
        command = getattr(importlib.import_module(module_name), func)
        return int(command(argv[1:], stdout, stderr))
    parser = _parser()
    parser.out = stdout  # type: ignore[attr-defined]
    try:
        args = parser.parse_args(argv)
        options = prove_options(args)
        jobs = parse_jobs(args.jobs)
        scheduler = parse_scheduler(args.scheduler, jobs)
        html_target(args.html)
    except Exit as done:
        return done.status
    except UsageError as exc:
        if "--json" in argv:   # a JSON reader gets a JSON document on every outcome
            stdout.write(to_json([], [_error_entry("<command line>", f"usage: {exc}")]) + "\n")
        return usage_error(stderr, str(exc))
    return prove(args.models, options, stdout, stderr, as_json=args.json, allow_bounded=args.allow_bounded,
                 traces=not args.no_traces, jobs=jobs, scheduler=scheduler, dot=args.dot, layout=args.layout,
                 style=output_style(args, stdout, args.json), html=args.html, argv=argv)


def prove_html(directory: str, argv: list[str], outcomes: list[ModelOutcome], stdout: TextIO | None,
               stderr: TextIO) -> bool:
    """`prove --html DIR`: every model's verdicts and counterexamples, and what could not be
    verified; False when the page could not be written (said on stderr)."""
    standing = [r for o in outcomes if (r := o.standing()) is not None and r.properties]
    summary = tally_line(len(standing), [p.status for r in standing for p in r.properties],
                         any(o.result is None or o.worker_errors or o.replay_failures for o in outcomes))
    report = Report("prove", tuple(argv), summary)
    for outcome in outcomes:
        failures = outcome.worker_errors + outcome.replay_failures
        report.errors += [f"internal error: {internal_error_text(f)}" for f in failures]
        if outcome.result is None and not failures:
            report.errors += [d.render(outcome.sources) for d in outcome.diagnostics]
            continue
        result = outcome.standing()
        if result is not None and result.properties:
            report.add_result(result)
    return save_html(directory, report, stdout, stderr)


def _error_entry(model: str, message: str) -> dict[str, object]:
    return {"model": model, "file": model, "line": 0, "column": 0, "message": message}


def prove_options(args: argparse.Namespace) -> VerifyOptions:
    """The VerifyOptions of parsed prove options (`_parser()`); raises UsageError."""
    return VerifyOptions(bound=parse_bound(args.bound), defines=parse_defines(args.defines),
                         solver=SolverOptions(timeout_s=parse_timeout(args.timeout), rlimit=args.rlimit),
                         only=tuple(args.property), memory_model=args.memory_model)


def usage_error(stderr: TextIO, message: str,
                usage: str = "objcg-prove [--bound K] [-D NAME=VALUE] [--json] [--allow-bounded] [--jobs N | --scheduler ADDRESS] "
                             "MODEL...") -> int:
    stderr.write(f"objcg-prove: error: {message}\n")
    stderr.write(f"usage: {usage}\n")
    return EXIT_USAGE


def scheduler_error(stderr: TextIO, exc: SchedulerError) -> int:
    """--scheduler could not be used (not installed, unreachable): bad input, no traceback."""
    stderr.write(f"objcg-prove: error: {exc}\n")
    return EXIT_USAGE


def prove(paths: list[str], options: VerifyOptions, stdout: TextIO, stderr: TextIO, as_json: bool = False,
          allow_bounded: bool = False, traces: bool = True, jobs: int = 1, scheduler: str | None = None,
          dot: str | None = None, layout: str = "table", style: OutputStyle = PLAIN, html: str | None = None,
          argv: list[str] | None = None) -> int:
    try:
        with open_pool(scheduler) as pool:
            outcomes = verify_models(paths, options, jobs=jobs, progress=style.progress(stderr),
                                     scheduler=pool, log=style.verbose)
        status = report_outcomes(outcomes, options, stdout, stderr, as_json, allow_bounded, traces, layout, style)
        quiet_or_json = as_json or style.quiet
        if dot is not None and not _write_graphs(dot, outcomes, stdout if not quiet_or_json else None, stderr):
            return max(status, 2)
        if html is not None and not prove_html(html, list(argv or paths), outcomes, stdout if not quiet_or_json else None,
                                               stderr):
            return max(status, 2)
        return status
    except SchedulerError as exc:
        if as_json:
            stdout.write(to_json([], [_error_entry("<command line>", str(exc))]) + "\n")
        return scheduler_error(stderr, exc)
    except Exception as exc:
        if as_json:   # still a JSON document on stdout; the one-line internal error follows (main)
            model = model_of(exc) or NO_SPAN.file
            stdout.write(to_json([], [_error_entry(model, internal_error_line(exc).removeprefix("objcg-prove: "))]) + "\n")
        raise


def _write_graphs(directory: str, outcomes: list[ModelOutcome], stdout: TextIO | None, stderr: TextIO) -> bool:
    """`--dot DIR`: each weak-memory counterexample's graph, DIR/MODEL.PROPERTY.dot (MODEL the
    file's name without .dsl); False when one could not be written (said on stderr)."""
    for outcome in outcomes:
        if outcome.result is None:
            continue
        stem = os.path.basename(outcome.path).removesuffix(".dsl")
        for p in outcome.result.properties:
            if p.trace is not None and p.trace.graph:
                written = write_dot(directory, f"{stem}.{p.name}", p.trace.graph, stderr)
                if written is None:
                    return False
                if stdout is not None:
                    stdout.write(f"wrote {written}\n")
    return True


def report_outcomes(outcomes: list[ModelOutcome], options: VerifyOptions, stdout: TextIO, stderr: TextIO,
                    as_json: bool = False, allow_bounded: bool = False, traces: bool = True,
                    layout: str = "table", style: OutputStyle = PLAIN) -> int:
    """Print verified models (text or JSON) and their diagnostics; the exit status of `prove`."""
    results: list[ModelResult] = []
    errors = []
    bad_input = internal = False
    for outcome in outcomes:
        path = outcome.path
        failures = outcome.worker_errors + outcome.replay_failures
        if failures:
            # NOTE(replay): a counterexample the reference interpreter cannot replay (its
            # schedule does not run, or does not violate the property) is a tool bug; it is
            # reported as one and never printed as a counterexample. A worker process that
            # failed on a property (runner/batch.py) is one too, and gives no verdict. Either is that
            # property's internal error: the other properties' verdicts are printed. But when
            # the interpreter gives up (interpret.StateLimit: a nondet() with 2^64 values) there
            # is no bug, only no second opinion: the violation stands (exit 1), its trace marked
            # "not replayed: <why>" (Trace.unreplayed; "not_replayed" in --json).
            internal = True
            for failure in failures:
                stderr.write(f"objcg-prove: internal error: {internal_error_text(failure)}\n")
                errors.append({"model": path, "file": path, "line": 0, "column": 0,
                               "message": f"internal error: {failure}"})
        elif outcome.result is None:
            bad_input = True
            for d in outcome.diagnostics:
                stderr.write(d.render(outcome.sources) + "\n")
                errors.append({"model": path, "file": d.span.file, "line": d.span.line, "column": d.span.column,
                               "message": d.message})
            continue
        result = outcome.standing()
        if result is None or (failures and not result.properties):
            continue
        results.append(result)
        if not as_json:
            text = model_text(result, traces, layout, style)
            if text:
                stdout.write(text + "\n\n")
                stdout.flush()
    # (a property whose check failed was selected too: it is an internal error, not a bad name)
    checked = {word for r in results for p in r.properties for word in (p.name, p.kind)} | \
        {name for outcome in outcomes for name in outcome.failed}
    if options.only and (results or checked):
        # a --property that selects nothing must not pass as "every property proved"
        for name in options.only:
            if name not in checked:
                bad_input = True
                every = list(dict.fromkeys(n for outcome in outcomes for n in outcome.every))
                whose = "its" if sum(1 for outcome in outcomes if outcome.every) == 1 else "their"
                msg = f"--property {name}: no model has a property of that name or kind" + known_properties(every, whose)
                stderr.write(f"objcg-prove: error: {msg}\n")
                errors.append({"model": "<command line>", "file": "<command line>", "line": 0, "column": 0,
                               "message": msg})
    if as_json:
        stdout.write(to_json(results, errors) + "\n")
    statuses = [p.status for r in results for p in r.properties]
    if results and not as_json:
        stdout.write(tally_line(len(results), statuses, bad_input or internal, style) + "\n")
    if bad_input:
        return EXIT_USAGE
    if internal:
        return EXIT_INTERNAL
    if VIOLATED in statuses:
        return EXIT_VIOLATED
    if UNKNOWN in statuses or VACUOUS in statuses or (BOUNDED in statuses and not allow_bounded):
        return EXIT_INCONCLUSIVE
    return EXIT_PROVED


def tally_line(models: int, statuses: list[str], errors: bool, style: OutputStyle = PLAIN) -> str:
    """The last line of `prove`: how many models and properties, and how many of each verdict
    (`check` ends with its own, `gate: N passed, M failed`)."""
    counts = {s: statuses.count(s) for s in ("proved", "violated", "bounded", "unknown", "vacuous")}
    verdicts = ", ".join(style.paint(f"{n} {s}", s) for s, n in counts.items() if n)
    line = f"prove: {models} model{'' if models == 1 else 's'}, {len(statuses)} " \
           f"propert{'y' if len(statuses) == 1 else 'ies'}: {verdicts or 'none checked'}"
    return line + ("; errors above" if errors else "")


def entry() -> None:
    _keep_interrupts()
    _leave(main())


# NOTE(fast-exit): a process that proved a small model spends ~30 ms after its last line is
# printed tearing the interpreter down: every z3 term is freed one by one through its `__del__`,
# then every module. Nothing of that is the user's: files are written whole and closed where
# they are written (gate/files.py), the --jobs workers are joined and a Dask client closed before
# `main` returns. So once `main` has returned, `_leave` runs what was registered to run at exit
# (atexit: multiprocessing's and logging's clean-up, coverage tools), flushes the standard
# streams and ends the process with `os._exit`, skipping the teardown. A thread that is still
# running (not a daemon) gets the ordinary exit, which waits for it.
def _leave(status: int) -> NoReturn:
    others = [t for t in threading.enumerate() if t is not threading.main_thread() and not t.daemon and t.is_alive()]
    if others:
        sys.exit(status)
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except BrokenPipeError:   # the reader went away after the last write: as in _guarded
            status = EXIT_BROKEN_PIPE
        except (OSError, ValueError):
            pass
    os._exit(status)


# Set by the SIGINT handler of the process's own command line (entry): a Ctrl-C still counts as
# one when a library swallowed or wrapped the KeyboardInterrupt it raised.
_SIGINT_SEEN = threading.Event()


def _keep_interrupts() -> None:
    """Make every Ctrl-C end the run. Python raises KeyboardInterrupt wherever the main thread
    happens to be: in a finalizer (z3 frees its terms in `__del__`) it is printed as "Exception
    ignored" and lost, so it is raised again once the finalizer is done; inside a ctypes call it
    arrives wrapped in another exception, which `main` recognises by the flag set here. Only for
    the process's own command line: it changes a signal handler and a hook of the interpreter."""
    def on_sigint(signum: int, frame: object) -> None:
        _SIGINT_SEEN.set()
        raise KeyboardInterrupt

    if signal.getsignal(signal.SIGINT) is signal.default_int_handler:   # not when SIGINT is ignored
        signal.signal(signal.SIGINT, on_sigint)
    previous = sys.unraisablehook

    def hook(unraisable: "sys.UnraisableHookArgs") -> None:
        if isinstance(unraisable.exc_value, KeyboardInterrupt):
            signal.raise_signal(signal.SIGINT)
            return
        previous(unraisable)

    sys.unraisablehook = hook


if __name__ == "__main__":
    entry()
