"""The fuzz test (docs/fuzzing.md): a fixed seed and a fixed number of inputs, through the
command line in-process, asserting the oracle of tests/fuzz/fuzz_oracle.py: no exception out of
`cli.main`, no traceback, exit status 0..3, a location on every error, valid output files.

Inputs: the hand-written odd programs of issue 8 (the quick ones; scripts/fuzz.py also runs the
pathological sizes), then CASES cases of seed SEED from tests/fuzz/fuzz_inputs.py: byte, token and
line mutations of the shipped models, grammar-based programs, and corrupted cache and ledger
files. On a failure the message lists each distinct finding with a minimised reproducer (its
files and command line); `python3 scripts/fuzz.py --seed SEED --count CASES` runs the same inputs
and saves them.
"""

from __future__ import annotations

import time
from dataclasses import replace

from fuzz_inputs import Case, case, odd_cases, shipped
from fuzz_oracle import Finding, Outcome, Worker, _ddmin, findings, minimise, reproducer

SEED = 20261204
CASES = 400
# per input: past it, a hang is a finding. As scripts/fuzz.py's default: a legitimate case is
# bounded by its `--timeout` per query times its queries, and the byte mutations of a shipped
# design at `--timeout 2 -k 1` (v3 with ALLOCS=2, five properties) take about 20 s on this
# project's 2-core machine when it is busy, with the prover of before and after the change that
# first drew that case; a real hang does not finish at all.
LIMIT_S = 30.0
MINIMISE_S = 20.0       # for all findings together; the rest are shown as generated


def test_fuzz_oracle_holds_on_mutated_and_generated_models() -> None:
    models = shipped()
    distinct: dict[str, tuple[Finding, object, int]] = {}
    with Worker(LIMIT_S) as worker:
        gate_files = worker.gate_seed()
        inputs = odd_cases() + [case(SEED, i, models, gate_files) for i in range(CASES)]
        for c in inputs:
            for f in findings(c, worker.run(c)):
                first, example, count = distinct.get(f.key, (f, c, 0))
                distinct[f.key] = (first, example, count + 1)
        reports = []
        stop = time.monotonic() + MINIMISE_S
        for n, (f, example, count) in enumerate(distinct.values()):
            quick = f.kind not in ("hang", "crash")   # a hang's every try is slow
            share = time.monotonic() + max(0.0, stop - time.monotonic()) / (len(distinct) - n)   # a fair share each
            shown = minimise(example, f, worker, runs=150, deadline=share) if quick else example  # type: ignore[arg-type]
            reports.append(f"[{count} input(s)] " + reproducer(shown, f))  # type: ignore[arg-type]
    assert not distinct, (f"{len(distinct)} distinct finding(s) in {len(inputs)} inputs (seed {SEED}):\n\n"
                          + "\n\n".join(reports))


# ---- the oracle itself: it must be able to fail ---------------------------------------------


def _case(text: bytes = b"", argv: tuple[str, ...] = ("m.dsl",)) -> Case:
    return Case("odd", "test", {"m.dsl": text}, list(argv), "m.dsl")


def _kinds(c: Case, out: Outcome) -> list[str]:
    return [f.kind for f in findings(c, out)]


def test_oracle_flags_an_escaped_exception_a_traceback_and_exit_4() -> None:
    assert _kinds(_case(), Outcome(exception="KeyError", message="'S'", where="resolve._location")) == ["exception"]
    assert _kinds(_case(), Outcome(status=1, stderr="Traceback (most recent call last):\n  ...\n")) == ["traceback"]
    assert _kinds(_case(), Outcome(status=4, stderr="objcg-prove: internal error: m.dsl: boom\n")) == ["internal-error"]
    assert _kinds(_case(), Outcome(died="hang", stage="encode")) == ["hang"]


def test_oracle_wants_a_location_on_every_error_but_usage_errors() -> None:
    c = _case(b"x\n")
    assert _kinds(c, Outcome(status=2, stderr="m.dsl: error: cannot read 'm.dsl': not UTF-8 text\n")) == ["no-location"]
    assert _kinds(c, Outcome(status=2, stderr="<command line>: error: too many objects\n")) == ["no-location"]
    assert _kinds(c, Outcome(status=2, stderr="m.dsl:1:1: error: syntax error\n    x\n    ^\n")) == []
    assert _kinds(c, Outcome(status=2, stderr="objcg-prove: error: --jobs 0: expected at least 1\nusage: ...\n")) == []
    with_d = _case(b"x\n", ("-D", "N=1", "m.dsl"))
    assert _kinds(with_d, Outcome(status=2, stderr="<command line>: error: unknown param 'N'\n")) == []


def test_oracle_checks_the_caret_line_against_newline_counting() -> None:
    c = _case(b"a\x0cb\nc = ;\n")
    assert _kinds(c, Outcome(status=2, stderr="m.dsl:2:5: error: unexpected ';'\n    b\n        ^\n")) == ["caret"]
    assert _kinds(c, Outcome(status=2, stderr="m.dsl:2:5: error: unexpected ';'\n    c = ;\n        ^\n")) == []


def test_oracle_checks_refused_values_and_output_files() -> None:
    bad = replace(_case(), expect_status=2)
    assert _kinds(bad, Outcome(status=0)) == ["accepted-bad-option"]
    assert _kinds(bad, Outcome(status=2, stderr="objcg-prove: error: -D N=65537: does not fit\n")) == []
    junit = replace(_case(), outputs=("out.xml",))
    assert _kinds(junit, Outcome(status=0, outputs={"out.xml": b"<a>\x01</a>"})) == ["invalid-output"]
    assert _kinds(replace(_case(), argv=["--json", "m.dsl"]), Outcome(status=0, stdout="{")) == ["invalid-output"]


def test_delta_debugging_keeps_what_the_finding_needs() -> None:
    parts = [bytes([i]) for i in range(40)]
    kept = _ddmin(parts, lambda p: b"\x03" in p and b"\x1d" in p, [1000])
    assert kept == [b"\x03", b"\x1d"]


def test_worker_runs_a_model_through_the_command_line() -> None:
    c = _case(b"shared word x = 0;\nthread A { x = 1; assert(x == 1); }\n", ("--timeout", "2", "m.dsl"))
    with Worker(60) as worker:
        out = worker.run(c)
    assert (out.status, out.stage, out.exception, out.died) == (0, "solve", "", "")
    assert "proved" in out.stdout and findings(c, out) == []
