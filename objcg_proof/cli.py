"""Command line: `objcg-prove [options] MODEL...`.

Commands are functions `(argv, stdout, stderr) -> exit status`, testable in-process.
Exit status: 0 every property proved; 1 some property violated; 2 bad input or usage;
3 otherwise (some property bounded, unknown or vacuous; with --allow-bounded, bounded counts as 0);
4 internal error: a counterexample did not replay on the reference interpreter, or a --jobs worker failed
(for that property: the other properties' verdicts are still printed).
"""

from __future__ import annotations

import argparse
import importlib
import sys
from typing import TextIO

from . import __version__
from .batch import ModelOutcome, verify_models
from .options import CommandParser, Exit, UsageError, add_jobs_option, parse_bound, parse_defines, parse_jobs, parse_timeout
from .report import model_text, to_json
from .solver import SolverOptions
from .verdict import BOUNDED, UNKNOWN, VACUOUS, VIOLATED, ModelResult
from .verify import VerifyOptions

EXIT_PROVED, EXIT_VIOLATED, EXIT_USAGE, EXIT_INCONCLUSIVE, EXIT_INTERNAL = 0, 1, 2, 3, 4


def _parser() -> argparse.ArgumentParser:
    p = CommandParser(prog="objcg-prove", description="Prove lock-free kernel protocols correct up to a bound, or show how they break.")
    p.add_argument("models", nargs="+", metavar="MODEL", help="model files (.dsl)")
    p.add_argument("--bound", "-k", type=str, default=None, help="loop unrolling bound (overrides the model's 'bound')")
    p.add_argument("-D", dest="defines", action="append", default=[], metavar="NAME=VALUE", help="override a param")
    p.add_argument("--json", action="store_true", help="print a machine-readable report")
    p.add_argument("--allow-bounded", action="store_true", help="exit 0 when properties are proved or bounded")
    p.add_argument("--timeout", type=float, default=SolverOptions.timeout_s, help="seconds per solver query (default %(default)s)")
    p.add_argument("--rlimit", type=int, default=0, help="z3 resource limit per query (0: none)")
    p.add_argument("--property", "-p", action="append", default=[], help="check only this property (name or kind); repeatable")
    p.add_argument("--no-traces", action="store_true", help="print verdicts only")
    add_jobs_option(p)
    p.add_argument("--version", action="version", version=f"objcg-prove {__version__}")
    return p


# Subcommands: `objcg-prove NAME ...` runs module.function(argv, stdout, stderr) -> exit status.
# Without a subcommand, `objcg-prove [options] MODEL...` proves the models.
SUBCOMMANDS: dict[str, tuple[str, str]] = {
    "prove": ("objcg_proof.gate", "prove_main"),
    "check": ("objcg_proof.gate", "check_main"),
    "simulate": ("objcg_proof.interpret", "simulate_main"),
    "export": ("objcg_proof.promela", "export_main"),
    "mutate": ("objcg_proof.mutate", "mutate_main"),
    "compare": ("objcg_proof.compare", "compare_main"),
}


def main(argv: list[str] | None = None, stdout: TextIO | None = None, stderr: TextIO | None = None) -> int:
    stdout = stdout or sys.stdout
    stderr = stderr or sys.stderr
    argv = list(sys.argv[1:] if argv is None else argv)
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
    except Exit as done:
        return done.status
    except UsageError as exc:
        return usage_error(stderr, str(exc))
    return prove(args.models, options, stdout, stderr, as_json=args.json, allow_bounded=args.allow_bounded,
                 traces=not args.no_traces, jobs=jobs)


def prove_options(args: argparse.Namespace) -> VerifyOptions:
    """The VerifyOptions of parsed prove options (`_parser()`); raises UsageError."""
    return VerifyOptions(bound=parse_bound(args.bound), defines=parse_defines(args.defines),
                         solver=SolverOptions(timeout_s=parse_timeout(args.timeout), rlimit=args.rlimit),
                         only=tuple(args.property))


def usage_error(stderr: TextIO, message: str,
                usage: str = "objcg-prove [--bound K] [-D NAME=VALUE] [--json] [--allow-bounded] [--jobs N] MODEL...") -> int:
    stderr.write(f"objcg-prove: error: {message}\n")
    stderr.write(f"usage: {usage}\n")
    return EXIT_USAGE


def prove(paths: list[str], options: VerifyOptions, stdout: TextIO, stderr: TextIO, as_json: bool = False,
          allow_bounded: bool = False, traces: bool = True, jobs: int = 1) -> int:
    outcomes = verify_models(paths, options, jobs=jobs, progress=stderr)
    return report_outcomes(outcomes, options, stdout, stderr, as_json, allow_bounded, traces)


def report_outcomes(outcomes: list[ModelOutcome], options: VerifyOptions, stdout: TextIO, stderr: TextIO,
                    as_json: bool = False, allow_bounded: bool = False, traces: bool = True) -> int:
    """Print verified models (text or JSON) and their diagnostics; the exit status of `prove`."""
    results: list[ModelResult] = []
    errors = []
    bad_input = internal = False
    for outcome in outcomes:
        path = outcome.path
        failures = outcome.worker_errors + outcome.replay_failures
        if failures:
            # NOTE(replay): a counterexample the reference interpreter cannot replay is a tool
            # bug; it is reported as one and never printed as a counterexample. A worker process
            # that failed on a property (batch.py) is one too, and gives no verdict. Either is
            # that property's internal error: the other properties' verdicts are printed.
            internal = True
            for failure in failures:
                stderr.write(f"objcg-prove: internal error: {failure}\n")
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
            stdout.write(model_text(result, traces) + "\n\n")
            stdout.flush()
    # (a property whose check failed was selected too: it is an internal error, not a bad name)
    checked = {word for r in results for p in r.properties for word in (p.name, p.kind)} | \
        {name for outcome in outcomes for name in outcome.failed}
    if options.only and (results or checked):
        # a --property that selects nothing must not pass as "every property proved"
        for name in options.only:
            if name not in checked:
                bad_input = True
                msg = f"--property {name}: no model has a property of that name or kind"
                stderr.write(f"objcg-prove: error: {msg}\n")
                errors.append({"model": "<command line>", "file": "<command line>", "line": 0, "column": 0,
                               "message": msg})
    if as_json:
        stdout.write(to_json(results, errors) + "\n")
    statuses = [p.status for r in results for p in r.properties]
    if bad_input:
        return EXIT_USAGE
    if internal:
        return EXIT_INTERNAL
    if VIOLATED in statuses:
        return EXIT_VIOLATED
    if UNKNOWN in statuses or VACUOUS in statuses or (BOUNDED in statuses and not allow_bounded):
        return EXIT_INCONCLUSIVE
    return EXIT_PROVED


def entry() -> None:
    sys.exit(main())


if __name__ == "__main__":
    entry()
