"""Model adequacy by mutation: `objcg-prove mutate MODEL`.

Input: one model file (with the files it includes), `--bound K`, `-D NAME=VALUE`, the operators
to apply (`--only OPERATOR`, repeatable), `--limit N` (only the first N mutants, in source
order), `--all-files` (also mutate statements of included files such as the harness),
`--timeout S` (per solver query) and `--json`. `--write-mutant N FILE` verifies nothing: it
writes mutant N (numbered as in the report) to FILE as the model with one procedure replaced
(docs/dsl.md, "replace and extend"; mutant_file.py), for a reviewer to run and read.

Each mutant is a copy of the model's `syntax.Module` (parser.load_model) in which one statement
is changed, built with `dataclasses.replace` on the frozen nodes; the span of the changed
statement (or call) names it. A mutant is verified like the original: resolve -> unroll ->
verify.verify_program. It is
  KILLED    when some property's verdict differs from the original's (typically: proved ->
            violated; any other change, e.g. proved -> bounded, counts too),
  SURVIVED  when every verdict is the original's. Each survivor is then run on the reference
            interpreter (NOTE(equivalent)): it *ends as the original* when it reaches exactly the
            original's final states and violates exactly its properties, over every execution
            (no property of the final state can tell them apart); otherwise the report names the
            locations whose final values differ (a property the model may be missing),
  INVALID   when the mutated model does not resolve or unroll (not counted in the score).

Output: a header with the original's verdicts, one line per mutant (number, verdict, operator,
file:line, original => mutated text, the verdicts that changed, time), then
"N mutants, K killed, S survived, I invalid: score X%" with score = killed / (killed + survived),
and, when some survived, how many survivors end as the original and the score without them.
With --json: {"schema_version", "model", "bound", "original", "mutants": [record...], "summary"}
(objcg_proof/schemas/mutate.schema.json; NOTE(json-schemas) in cli/report.py).
Exit status: 0 every valid mutant killed, 1 some mutant survived, 2 bad input or usage.

The operators and which statements each one changes: mutants.py (the syntax is walked in
syntax_walk.py and printed back in syntax_text.py); verifying and judging a mutant:
mutant_run.py. This module is the command, and the entry every caller imports from.
"""

from __future__ import annotations

import argparse
import json
import time
from typing import Any, TextIO

from ..cli.options import CommandParser, Exit, UsageError, add_jobs_option, add_memory_model_option, parse_bound, \
    parse_defines, parse_jobs, parse_rlimit, parse_timeout
from ..runner.progress import Progress
from ..lang import syntax as s
from ..lang.diagnostics import SourceCache, UserError, processing
from ..lang.parser import load_model
from ..lang.resolve import resolve
from ..prove.solver import SolverOptions
from ..prove.verify import VerifyOptions
from .mutant_file import NotADifference, difference_text
from .mutant_run import (INVALID, KILLED, SURVIVED, MutantResult, Summary, outcomes, run_mutant, run_mutants, statuses,
                         summarize, verify_module)
from .mutants import OPERATORS, Mutant, generate
from .syntax_text import expr_text, stmt_text

# what callers import from here (the command's entry), wherever it now lives
__all__ = ["OPERATORS", "KILLED", "SURVIVED", "INVALID", "EXIT_ALL_KILLED", "EXIT_SURVIVED", "EXIT_USAGE", "Mutant",
           "MutantResult", "Summary", "generate", "verify_module", "statuses", "run_mutant", "outcomes", "expr_text",
           "stmt_text", "mutate_main"]

EXIT_ALL_KILLED, EXIT_SURVIVED, EXIT_USAGE = 0, 1, 2
JSON_SCHEMA_VERSION = 1   # of `mutate --json` (NOTE(json-schemas) in cli/report.py)


# ---- the command ----------------------------------------------------------------------------
_USAGE = ("objcg-prove mutate [--bound K] [-D NAME=VALUE] [--json] [--only OPERATOR] [--limit N] [--all-files] "
          "[--timeout S] [--rlimit N] [--jobs N] [--memory-model sc|lkmm] [--write-mutant N FILE] MODEL")


_EPILOG = """operators:
  drop-put     delete a put(p); or a kill(p);
  drop-get     delete a get(p); a tryget(p) in a condition becomes refcount(p) != 0 (no reference)
  non-atomic   xchg, cmpxchg, try_cmpxchg, set_bit, clear_bit ... become a plain read and a plain write
  swap         swap two adjacent, independent statements that each make a shared access
  drop-assume  delete an assume(c);
  drop-holds   delete a holds(p); of the final block
  drop-wait    delete a spin loop (a loop that only reads until a condition holds)
  index        an array index a[i] becomes a[i ^ 1]
under the LKMM only (--memory-model lkmm, or the model's declaration):
  drop-fence   delete a fence: smp_mb(), smp_rmb(), smp_wmb(), smp_mb__*(), barrier(), synchronize_rcu()
  relax        smp_load_acquire(&x) -> READ_ONCE(x); smp_store_release(&x, v), rcu_assign_pointer(x, v) -> WRITE_ONCE(x, v)

exit status: 0 every valid mutant killed, 1 some mutant survived, 2 bad input or usage"""


def _parser(out: TextIO) -> CommandParser:
    p = CommandParser(prog="objcg-prove mutate", usage=_USAGE, formatter_class=argparse.RawDescriptionHelpFormatter,
                      description="Mutate the model's design code and check that some verdict changes for each mutant.",
                      epilog=_EPILOG)
    p.add_argument("model", metavar="MODEL", help="model file (.dsl)")
    p.add_argument("--bound", "-k", default=None, help="loop unrolling bound (overrides the model's 'bound')")
    p.add_argument("-D", dest="defines", action="append", default=[], metavar="NAME=VALUE", help="override a param")
    p.add_argument("--json", action="store_true", help="print a machine-readable report")
    p.add_argument("--only", action="append", default=[], metavar="OPERATOR",
                   help="apply only this operator (repeatable): " + ", ".join(OPERATORS))
    p.add_argument("--limit", default=None, metavar="N", help="verify only the first N mutants (in source order)")
    p.add_argument("--all-files", action="store_true", help="also mutate statements of included files (the harness)")
    p.add_argument("--timeout", type=float, default=SolverOptions.timeout_s, help="seconds per solver query (default %(default)s)")
    p.add_argument("--rlimit", type=parse_rlimit, default=0, help="z3 resource limit per query (0: none)")
    add_jobs_option(p, "verify this many mutants at once, in worker processes (default 1)")
    add_memory_model_option(p)
    p.add_argument("--write-mutant", nargs=2, default=None, metavar=("N", "FILE"),
                   help="write mutant N (its number in the report, with the same --only, --all-files) to FILE as "
                        "the model with one procedure replaced, and verify nothing")
    p.out = out
    return p


def _write_mutant(module: s.Module, sources: SourceCache, operators: tuple[str, ...], args: argparse.Namespace,
                  number: int, stdout: TextIO, stderr: TextIO) -> int:
    """--write-mutant N FILE: mutant N as a difference file (mutant_file.py)."""
    weak = (args.memory_model or resolve(module, dict(parse_defines(args.defines)), None).memory_model) != "sc"
    mutants = generate(module, sources, operators, args.all_files, weak=weak)
    target = args.write_mutant[1]
    if number > len(mutants):
        stderr.write(f"objcg-prove mutate: error: --write-mutant {number}: {args.model} has {len(mutants)} mutants\n")
        return EXIT_USAGE
    try:
        text = difference_text(module, mutants[number - 1], number, args.model, target, sources)
        with open(target, "w", encoding="utf-8") as out:
            out.write(text)
    except NotADifference as exc:
        stderr.write(f"objcg-prove mutate: error: {exc}\n")
        return EXIT_USAGE
    except OSError as exc:
        stderr.write(f"objcg-prove mutate: error: cannot write '{target}': {exc.strerror or exc}\n")
        return EXIT_USAGE
    stdout.write(f"wrote mutant {number} ({mutants[number - 1].operator} at {mutants[number - 1].span}) to {target}; "
                 f"run it with: objcg-prove {'--memory-model lkmm ' if args.memory_model == 'lkmm' else ''}{target}\n")
    return EXIT_ALL_KILLED


def _positive(option: str, text: str | None, minimum: int) -> int | None:
    if text is None:
        return None
    try:
        value = int(text, 0)
    except ValueError:
        raise UsageError(f"{option} {text}: expected an integer") from None
    if value < minimum:
        raise UsageError(f"{option} {value}: must be at least {minimum}")
    return value


def _clip(text: str, width: int = 90) -> str:
    return text if len(text) <= width else text[: width - 3] + "..."


def _line(n: int, r: MutantResult) -> str:
    m = r.mutant
    if r.outcome == INVALID:
        why = f"[invalid: {r.error}]"
    elif r.changes:
        why = "[" + ", ".join(f"{c.property}: {c.original} -> {c.mutant}" for c in r.changes) + "]"
    else:
        why = "[every verdict unchanged]"
    line = (f"{n:>3}  {r.outcome.upper():<8}  {m.operator:<11}  {m.span.file}:{m.span.line}  "
            f"{_clip(m.original)}  =>  {_clip(m.mutated)}  {why}  ({r.time_s:.1f}s)")
    if r.evidence:
        line += f"\n{'':>15}{r.evidence}"
    return line


def _record(n: int, r: MutantResult) -> dict[str, Any]:
    """A mutant in --json; `error` (an invalid mutant's) and `evidence` (a survivor's) are null
    where they do not apply."""
    m = r.mutant
    return {"index": n, "operator": m.operator, "file": m.span.file, "line": m.span.line,
            "column": m.span.column, "original": m.original, "mutated": m.mutated, "outcome": r.outcome,
            "changes": [{"property": c.property, "original": c.original, "mutant": c.mutant} for c in r.changes],
            "error": r.error or None, "equivalent": r.equivalent, "evidence": r.evidence or None,
            "time_s": round(r.time_s, 3)}


def mutate_main(argv: list[str], stdout: TextIO, stderr: TextIO) -> int:
    """`objcg-prove mutate ...`: returns the exit status (0 all killed, 1 some survived, 2 bad input)."""
    parser = _parser(stdout)
    try:
        args = parser.parse_args(argv)
        for op in args.only:
            if op not in OPERATORS:
                raise UsageError(f"--only {op}: unknown operator; the operators are {', '.join(OPERATORS)}")
        parse_timeout(args.timeout)
        options = VerifyOptions(bound=parse_bound(args.bound), defines=parse_defines(args.defines),
                                solver=SolverOptions(timeout_s=args.timeout, rlimit=args.rlimit), minimize=False,
                                memory_model=args.memory_model)
        limit = _positive("--limit", args.limit, 0)
        jobs = parse_jobs(args.jobs)
        write = None if args.write_mutant is None else _positive("--write-mutant", args.write_mutant[0], 1)
    except Exit as done:
        return done.status
    except UsageError as exc:
        stderr.write(f"objcg-prove mutate: error: {exc}\nusage: {_USAGE}\n")
        return EXIT_USAGE
    operators = tuple(op for op in OPERATORS if not args.only or op in args.only)

    processing(args.model)   # NOTE(internal-errors)
    start = time.perf_counter()
    sources = SourceCache()
    try:
        module = load_model(args.model, sources)
        if write is not None:
            return _write_mutant(module, sources, operators, args, write, stdout, stderr)
        base = verify_module(module, sources, options)
        # NOTE(equivalent) compares final states on the reference interpreter, which runs
        # sequential consistency: under the LKMM a survivor is not classified
        baseline = outcomes(resolve(module, dict(options.defines), options.bound)) if base.memory_model == "sc" else None
    except UserError as exc:
        for d in exc.diagnostics:
            stderr.write(d.render(sources) + "\n")
        return EXIT_USAGE
    original = statuses(base)
    for name, status in original.items():
        if status == "unknown":
            stderr.write(f"objcg-prove mutate: warning: the original's property {name} is unknown; "
                         f"mutants are compared with that verdict as it is\n")
    mutants = generate(module, sources, operators, args.all_files, weak=base.memory_model != "sc")
    if limit is not None:
        mutants = mutants[:limit]
    verdicts = ", ".join(f"{n} {st}" for n, st in original.items())
    if not args.json:
        under = ", under the LKMM" if base.memory_model == "lkmm" else ""
        stdout.write(f"{args.model}  (bound {base.bound}{under}): original {verdicts}  ({base.time_s:.1f}s); "
                     f"{len(mutants)} mutants\n")
        stdout.flush()
    results: list[MutantResult] = []
    with Progress(stderr, len(mutants)) as shown:
        for n, r in enumerate(run_mutants(mutants, original, sources, options, baseline, jobs), 1):
            results.append(r)
            shown.show(n, f"{args.model}: mutants")
            if not args.json:
                stdout.write(_line(n, r) + "\n")
                stdout.flush()
    summary = summarize(results, time.perf_counter() - start, classified=baseline is not None)
    if args.json:
        report = {"schema_version": JSON_SCHEMA_VERSION, "model": args.model, "bound": base.bound,
                  **({"memory_model": base.memory_model} if base.memory_model != "sc" else {}),
                  "original": {"statuses": original, "time_s": round(base.time_s, 3)},
                  "mutants": [_record(n, r) for n, r in enumerate(results, 1)],
                  "summary": {"mutants": summary.mutants, "killed": summary.killed, "survived": summary.survived,
                              "invalid": summary.invalid, "equivalent": summary.equivalent if summary.classified else None,
                              "score": None if summary.score is None else round(summary.score, 1),
                              "score_non_equivalent": (None if summary.score_non_equivalent is None
                                                       else round(summary.score_non_equivalent, 1)),
                              "time_s": round(summary.time_s, 3)}}
        stdout.write(json.dumps(report, indent=2) + "\n")
    else:
        stdout.write(f"time: {summary.time_s:.1f}s (the original {base.time_s:.1f}s)\n")
        stdout.write(summary.text() + "\n")
    return EXIT_SURVIVED if summary.survived else EXIT_ALL_KILLED
