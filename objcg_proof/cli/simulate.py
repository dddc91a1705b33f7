"""`objcg-prove simulate MODEL`: run one schedule of a model on the reference interpreter
(oracles/interpret.py) and print it, a step per line in columns as wide as their widest cell
(the statement cut at STATEMENT_WIDTH, the location never), each violation under the step
that reached it; then every property of the model as that run judged it (violated at step N,
held on this schedule, or not judged and why) and a one-line tally.

Exit status: 1 when the run violated some property, else 0; 2 for bad input, a usage error
(also a --schedule naming no thread) or an interpreter that gives up (StateLimit: the steps
run so far are printed first)."""

from __future__ import annotations

from typing import TextIO

from ..lang.diagnostics import SourceCache, UserError, processing
from ..lang.parser import load_model
from ..lang.resolve import resolve
from ..oracles.interpret import HELD, NOT_JUDGED, VIOLATED, Judged, StateLimit, simulate
from .options import CommandParser, Exit, UsageError, add_memory_model_option, parse_defines, sc_only


def simulate_main(argv: list[str], stdout: TextIO, stderr: TextIO) -> int:
    parser = CommandParser(prog="objcg-prove simulate",
                           description="Run one schedule of a model, print it, and judge every property on it.")
    parser.out = stdout
    parser.add_argument("model")
    parser.add_argument("--seed", type=int, default=0, help="random schedule seed (default 0)")
    parser.add_argument("--schedule", default=None, help="comma-separated thread names, one per step")
    parser.add_argument("--steps", type=int, default=200, help="stop after this many steps (default 200): leak, "
                        "deadlock and the final block's checks are then not judged")
    parser.add_argument("-D", dest="defines", action="append", default=[], metavar="NAME=VALUE")
    add_memory_model_option(parser, "sc only: a schedule is an interleaving (sequential consistency)")
    try:
        args = parser.parse_args(argv)
        defines = dict(parse_defines(args.defines))
        sc_only("simulate", args.memory_model, "runs one interleaving on the reference interpreter, which is "
                                               "sequentially consistent: an LKMM execution is no one interleaving")
    except Exit as done:
        return done.status
    except UsageError as exc:
        stderr.write(f"objcg-prove simulate: error: {exc}\nusage: objcg-prove simulate MODEL [--seed N] "
                     "[--schedule T,T,M] [--steps N] [-D NAME=VALUE] [--memory-model sc]\n")
        return 2
    processing(args.model)   # NOTE(internal-errors)
    sources = SourceCache()
    try:
        program = resolve(load_model(args.model, sources), defines)
    except UserError as exc:
        for d in exc.diagnostics:
            stderr.write(d.render(sources) + "\n")
        return 2
    if program.memory_model != "sc":
        stderr.write(f"objcg-prove simulate: note: {args.model} declares `memory_model {program.memory_model};`: this "
                     "schedule is sequentially consistent, one of the executions the LKMM allows\n")
    schedule = [s.strip() for s in args.schedule.split(",") if s.strip()] if args.schedule else None
    threads = [t.name for t in program.threads]
    unknown = [name for name in schedule or () if name not in threads]
    if unknown:
        stderr.write(f"objcg-prove simulate: error: --schedule names no thread {unknown[0]} (the threads of "
                     f"{args.model}: {', '.join(threads)})\n")
        return 2
    run = simulate(program, args.seed, schedule, args.steps)
    lines: list[_Line] = []
    number = 0
    try:
        for record, viols, note in run:
            if record is not None:
                number += 1
                text = " ".join((sources.line(record.span.file, record.span.line) or "").split("//")[0].split())
                lines.append((str(number), record.thread, f"{record.span.file}:{record.span.line}", text,
                              "; ".join(record.changes)))
            lines += [f"=> {message}" for _, _, message in viols]
            if note:
                lines.append(f"({note})")
    except (StateLimit, KeyboardInterrupt):
        stdout.write(steps_text(lines))   # what ran before the interpreter gave up, or Ctrl-C
        raise
    stdout.write(steps_text(lines))
    how = "given" if schedule is not None else "random"
    end = f"{run.ended}: the run is over" if run.over else run.ended
    steps = f"{run.steps} step{'' if run.steps == 1 else 's'}"
    stdout.write(f"\nproperties on this schedule ({how}, seed {args.seed}, {steps}; {end}):\n")
    stdout.write(verdicts_text(run.verdicts))
    stdout.write(tally_line(run.verdicts) + "\n")
    return 1 if any(v.status == VIOLATED for v in run.verdicts) else 0


# a step as (number, thread, file:line, statement, changes), or a line under the steps (`=> ...`, `(...)`)
_Line = tuple[str, str, str, str, str] | str
STATEMENT_WIDTH = 60   # a longer statement is cut, with "…" (about 1 model line in 25 is longer)


def steps_text(lines: list[_Line]) -> str:
    """The steps in columns as wide as their widest cell (the statement at most STATEMENT_WIDTH),
    the lines under a step indented to the thread column; no trailing spaces."""
    rows = [line for line in lines if not isinstance(line, str)]
    widths = [max((len(row[i]) for row in rows), default=0) for i in range(4)]
    widths[3] = min(widths[3], STATEMENT_WIDTH)
    out = []
    for line in lines:
        if isinstance(line, str):
            out.append(" " * (widths[0] + 2) + line)
            continue
        number, thread, where, statement, changes = line
        if len(statement) > STATEMENT_WIDTH:
            statement = statement[:STATEMENT_WIDTH - 1] + "…"
        out.append(f"{number:>{widths[0]}}  {thread:<{widths[1]}}  {where:<{widths[2]}}  "
                   f"{statement:<{widths[3]}}  {changes}".rstrip())
    return "".join(line + "\n" for line in out)


def verdicts_text(verdicts: tuple[Judged, ...]) -> str:
    """One line per property: its name, its kind, and what this run showed of it."""
    name_width = max((len(v.name) for v in verdicts), default=0)
    kind_width = max((len(v.kind) for v in verdicts), default=0)
    return "".join(f"  {v.name:<{name_width}}  {v.kind:<{kind_width}}  {verdict_words(v)}\n" for v in verdicts)


def verdict_words(v: Judged) -> str:
    if v.status == VIOLATED:
        where = (f"at the end of the run, after step {v.step}" if v.at_end else
                 "before the first step" if v.step == 0 else f"at step {v.step}")
        return f"violated {where}: {v.message}"
    if v.status == HELD:
        return "held on this schedule" + (f" ({v.message})" if v.message else "")
    assert v.status == NOT_JUDGED, v.status
    return f"not judged: {v.message}"


def tally_line(verdicts: tuple[Judged, ...]) -> str:
    """The last line: how many properties, and how many this run violated, held or did not judge."""
    counts = [(sum(v.status == status for v in verdicts), words) for status, words in (
        (VIOLATED, "violated"), (HELD, "held on this schedule"), (NOT_JUDGED, "not judged"))]
    parts = ", ".join(f"{n} {words}" for n, words in counts if n)
    return f"simulate: {len(verdicts)} propert{'y' if len(verdicts) == 1 else 'ies'}: {parts or 'none'}"
