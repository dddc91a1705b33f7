"""`objcg-prove export --format promela MODEL`: write the Promela model of a design
(the oracles/promela package) for SPIN."""

from __future__ import annotations

from typing import TextIO

from ..lang.diagnostics import SourceCache, UserError, processing
from ..oracles.promela import export_path
from .options import CommandParser, Exit, UsageError, add_memory_model_option, parse_bound, parse_defines, sc_only
from .status import known_properties

USAGE = "usage: objcg-prove export --format promela MODEL [-D NAME=VALUE] [--bound K] [--property NAME] [--memory-model sc] [-o FILE]\n"


def export_main(argv: list[str], stdout: TextIO, stderr: TextIO) -> int:
    """`objcg-prove export`: exit 0 (written), 2 (bad model or command line)."""
    parser = CommandParser(prog="objcg-prove export", description="Export a model for another checker (SPIN).")
    parser.out = stdout
    parser.add_argument("model", metavar="MODEL")
    parser.add_argument("--format", default="promela", choices=["promela"], help="output format (default promela)")
    parser.add_argument("-D", dest="defines", action="append", default=[], metavar="NAME=VALUE", help="override a param")
    parser.add_argument("--bound", "-k", default=None, help="accepted as for proving; the exported loops are not bounded")
    parser.add_argument("--property", "-p", action="append", default=[],
                        help="keep only this property's checks (name or kind); repeatable")
    parser.add_argument("-o", dest="output", default=None, metavar="FILE", help="write here instead of stdout")
    add_memory_model_option(parser, "sc only: SPIN explores interleavings (sequential consistency)")
    try:
        args = parser.parse_args(argv)
        sc_only("export", args.memory_model, "writes Promela, and SPIN explores interleavings only (sequential "
                                             "consistency)")
        defines = parse_defines(args.defines)
        bound = parse_bound(args.bound)
    except Exit as done:
        return done.status
    except UsageError as exc:
        stderr.write(f"objcg-prove: error: {exc}\n{USAGE}")
        return 2
    processing(args.model)   # NOTE(internal-errors)
    sources = SourceCache()
    try:
        model = export_path(args.model, sources, defines, bound, tuple(args.property))
    except UserError as exc:
        for d in exc.diagnostics:
            stderr.write(d.render(sources) + "\n")
        return 2
    known = set(model.properties) | set(model.kinds)
    for name in args.property:
        if name not in known:
            stderr.write(f"objcg-prove: error: --property {name}: the model has no property of that name or kind"
                         f"{known_properties(list(model.properties))}\n")
            return 2
    if args.output is None:
        stdout.write(model.text)
        return 0
    try:
        with open(args.output, "w", encoding="utf-8") as handle:
            handle.write(model.text)
    except OSError as exc:
        stderr.write(f"objcg-prove: error: cannot write {args.output}: {exc.strerror}\n")
        return 2
    return 0
