"""`objcg-prove litmus FILE...`: the verdict of each litmus test under the Linux-kernel memory
model, in herd7's words (docs/lkmm.md, section 4).

Each FILE is a litmus test in the kernel's C format, or a directory searched for `*.litmus`.
Per test: `FILE: Observation NAME VERDICT POSITIVE NEGATIVE`, as herd7 prints it, then whether
the test's own claim (`exists`, `~exists`, `forall`) holds, and any flag (data-race,
mixed-accesses); under a `Sometimes`, one allowed execution in which the condition holds (each
thread's events, the write each read saw, the coherence order of each location). The verdicts come from oracles/lkmm.py, which evaluates the model on every
candidate execution; SRCU is not in it yet, and a test using it is refused with a located
error. With `--prover`, each test the DSL can say is also translated to a model
(lang/litmus_dsl.py) and checked by the prover's z3 encoding of the LKMM (prove/litmus.py); its
verdict, flags and time are printed under the evaluator's, and a disagreement is a bug of
objcg-prove (exit 4). Exit status: 0 every test got a verdict; 2 some file was bad input or
refused (the others are still checked and printed); 4 the prover and the evaluator disagreed.
With `--json`: {"schema_version", "results": [...]} (objcg_proof/schemas/litmus.schema.json;
NOTE(json-schemas) in cli/report.py).
"""

from __future__ import annotations

import json
from typing import TextIO

from ..lang.diagnostics import SourceCache, UserError, processing
from ..lang.litmus_parser import litmus_paths, load_litmus
from ..lang.litmus_syntax import LitmusTest
from ..oracles.lkmm import LitmusVerdict, check_litmus
from .report import write_dot
from .status import EXIT_INTERNAL
from .options import CommandParser, Exit, UsageError

USAGE = "usage: objcg-prove litmus [--json] [--dot DIR] [--prover] FILE...\n"
JSON_SCHEMA_VERSION = 1   # of `litmus --json` (NOTE(json-schemas) in cli/report.py)


def litmus_main(argv: list[str], stdout: TextIO, stderr: TextIO) -> int:
    """`objcg-prove litmus`: exit 0 (a verdict for every test), 2 (bad input or command line)."""
    parser = CommandParser(prog="objcg-prove litmus",
                           description="Check litmus tests under the Linux-kernel memory model (herd7's verdicts).")
    parser.out = stdout
    parser.add_argument("files", nargs="+", metavar="FILE", help="litmus tests (.litmus), or directories of them")
    parser.add_argument("--json", action="store_true", help="print a machine-readable report")
    parser.add_argument("--dot", metavar="DIR", default=None,
                        help="write each witness execution as a Graphviz graph, DIR/NAME.dot (replacing a file of that name)")
    parser.add_argument("--prover", action="store_true",
                        help="also check each test with the prover (z3, the LKMM encoding) and compare")
    try:
        args = parser.parse_args(argv)
    except Exit as done:
        return done.status
    except UsageError as exc:
        stderr.write(f"objcg-prove: error: {exc}\n{USAGE}")
        return 2
    results: list[tuple[str, LitmusVerdict]] = []
    proved: dict[str, dict[str, object]] = {}
    failed = disagreed = 0
    for path in litmus_paths(args.files):
        processing(path)   # NOTE(internal-errors)
        sources = SourceCache()
        try:
            results.append((path, check_litmus(load_litmus(path, sources))))
        except UserError as exc:
            failed += 1
            for d in exc.diagnostics:
                stderr.write(d.render(sources) + "\n")
            continue
        if args.prover:
            proved[path] = _prover(load_litmus(path, sources), results[-1][1])
            disagreed += proved[path]["agrees"] is False
        if not args.json:
            stdout.write(_line(*results[-1]) + "\n")
            if args.prover:
                stdout.write(_prover_line(proved[path]) + "\n")
            if results[-1][1].verdict == "Sometimes":
                stdout.write("  witness (an allowed execution in which the condition holds):\n")
                stdout.write("".join(f"    {line}\n" for line in results[-1][1].witness))
        if args.dot is not None and results[-1][1].witness_dot:
            written = write_dot(args.dot, results[-1][1].test, results[-1][1].witness_dot, stderr)
            if written is None:
                return 2
            if not args.json:
                stdout.write(f"  wrote {written}\n")
    if args.json:
        records = [_record(path, v) for path, v in results]
        for r in records:
            if r["file"] in proved:
                r["prover"] = proved[str(r["file"])]
        stdout.write(json.dumps({"schema_version": JSON_SCHEMA_VERSION, "results": records}, indent=2) + "\n")
    else:
        stdout.write(f"litmus: {len(results)} test{'s' if len(results) != 1 else ''} checked"
                     + (f", {failed} refused or bad input" if failed else "")
                     + (f", the prover disagreed on {disagreed}" if disagreed else "") + "\n")
    if disagreed:
        stderr.write(f"objcg-prove: internal error: the prover and the litmus evaluator disagree on {disagreed} "
                     "test(s): a bug of objcg-prove\n")
        return EXIT_INTERNAL
    return 2 if failed else 0


def _prover(test: LitmusTest, v: LitmusVerdict) -> dict[str, object]:
    """The prover's answer on a test, beside the evaluator's (`agrees` None: not translated, or
    unknown; `why`: what the DSL cannot say, or why unknown; else None)."""
    from ..prove.litmus import prove_litmus   # z3 is loaded only for --prover
    try:
        z = prove_litmus(test)
    except UserError as exc:
        return {"verdict": None, "agrees": None, "why": exc.diagnostics[0].message}
    agrees = None if z.verdict == "unknown" else (z.verdict, z.flags) == (v.verdict, v.flags)
    return {"verdict": z.verdict, "flags": list(z.flags), "time_s": round(z.time_s, 3), "agrees": agrees,
            "why": z.reason or None}


def _prover_line(p: dict[str, object]) -> str:
    if p["verdict"] is None:
        return f"  prover: not checked: {p['why']}"
    flags = "".join(f"; flag {f}" for f in p["flags"])  # type: ignore[union-attr]
    said = {True: "agrees", False: "DISAGREES with the evaluator", None: f"unknown: {p['why']}"}[p["agrees"]]  # type: ignore[index]
    return f"  prover: {p['verdict']}{flags} ({p['time_s']:.2f}s), {said}"


def _line(path: str, v: LitmusVerdict) -> str:
    claim = "holds" if v.holds else "does not hold"
    flags = "".join(f"; flag {f}" for f in v.flags)
    none = ""
    if v.positive + v.negative == 0:   # herd7's way of showing a deadlock: no state at all
        none = "; no execution is allowed" if v.allowed == 0 else f"; none of the {v.allowed} allowed executions passes the filter"
    return f"{path}: Observation {v.test} {v.verdict} {v.positive} {v.negative} ({v.quantifier} {claim}{none}){flags}"


def _record(path: str, v: LitmusVerdict) -> dict[str, object]:
    return {"file": path, "test": v.test, "verdict": v.verdict, "positive": v.positive, "negative": v.negative,
            "quantifier": v.quantifier, "holds": v.holds, "flags": list(v.flags), "witness": list(v.witness),
            "allowed": v.allowed}
