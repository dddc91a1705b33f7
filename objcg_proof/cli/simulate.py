"""`objcg-prove simulate MODEL`: run one schedule of a model on the reference interpreter
(oracles/interpret.py) and print it, a step per line."""

from __future__ import annotations

from typing import TextIO

from ..lang.diagnostics import SourceCache, UserError, processing
from ..lang.parser import load_model
from ..lang.resolve import resolve
from ..oracles.interpret import simulate
from .options import CommandParser, Exit, UsageError, add_memory_model_option, parse_defines, sc_only


def simulate_main(argv: list[str], stdout: TextIO, stderr: TextIO) -> int:
    parser = CommandParser(prog="objcg-prove simulate", description="Run one schedule of a model and print it.")
    parser.out = stdout
    parser.add_argument("model")
    parser.add_argument("--seed", type=int, default=0, help="random schedule seed (default 0)")
    parser.add_argument("--schedule", default=None, help="comma-separated thread names, one per step")
    parser.add_argument("--steps", type=int, default=200, help="stop after this many steps")
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
    violated = False
    n = 0
    for record, viols, note in simulate(program, args.seed, schedule, args.steps):
        if record is not None:
            n += 1
            text = " ".join((sources.line(record.span.file, record.span.line) or "").split("//")[0].split())
            stdout.write(f"{n:>4}  {record.thread:<8} {record.span.file}:{record.span.line:<5} {text:<50} {'; '.join(record.changes)}\n")
        for _, _, message in viols:
            violated = True
            stdout.write(f"  => {message}\n")
        if note:
            stdout.write(f"  ({note})\n")
    return 1 if violated else 0
