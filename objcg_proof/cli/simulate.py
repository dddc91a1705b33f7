"""`objcg-prove simulate MODEL`: run one schedule of a model on the reference interpreter
(oracles/interpret.py) and print it, a step per line."""

from __future__ import annotations

from typing import TextIO

from ..lang.diagnostics import SourceCache, UserError, processing
from ..lang.parser import load_model
from ..lang.resolve import resolve
from ..oracles.interpret import simulate
from .options import CommandParser, Exit, UsageError, parse_defines


def simulate_main(argv: list[str], stdout: TextIO, stderr: TextIO) -> int:
    parser = CommandParser(prog="objcg-prove simulate", description="Run one schedule of a model and print it.")
    parser.out = stdout
    parser.add_argument("model")
    parser.add_argument("--seed", type=int, default=0, help="random schedule seed (default 0)")
    parser.add_argument("--schedule", default=None, help="comma-separated thread names, one per step")
    parser.add_argument("--steps", type=int, default=200, help="stop after this many steps")
    parser.add_argument("-D", dest="defines", action="append", default=[], metavar="NAME=VALUE")
    try:
        args = parser.parse_args(argv)
        defines = dict(parse_defines(args.defines))
    except Exit as done:
        return done.status
    except UsageError as exc:
        stderr.write(f"objcg-prove simulate: error: {exc}\nusage: objcg-prove simulate MODEL [--seed N] "
                     "[--schedule T,T,M] [--steps N] [-D NAME=VALUE]\n")
        return 2
    processing(args.model)   # NOTE(internal-errors)
    sources = SourceCache()
    try:
        program = resolve(load_model(args.model, sources), defines)
    except UserError as exc:
        for d in exc.diagnostics:
            stderr.write(d.render(sources) + "\n")
        return 2
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
