"""A litmus test's verdict from the prover (docs/lkmm.md, section 4): the test as a model of the
DSL (lang/litmus_dsl.py), unrolled, encoded under the LKMM (prove/lkmm.py) and asked three
kinds of questions, under the test's `filter`:

- A: is there an allowed execution whose final state satisfies the condition?
- B: is there one whose final state does not?
- per flag of the model (data-race ...): is there one that raises it?

Never when A is unsat; Always when B is unsat and A sat; Sometimes when both are sat. An unknown
answer makes the verdict `unknown`, never one of the three. The independent evaluator
(oracles/lkmm.py) answers the same questions by enumeration; tests/prove/test_lkmm_prover.py
holds the two to each other.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from ..lang import litmus_syntax as ls
from ..lang import syntax as s
from ..lang.litmus_dsl import to_dsl
from ..lang.parser import parse_text
from ..lang.resolve import resolve
from .encode import encode
from .solver import Outcome, Session, SolverOptions
from .unroll import unroll


@dataclass(frozen=True)
class ProvedLitmus:
    """The prover's answer on one litmus test."""

    test: str
    verdict: str                  # Never | Sometimes | Always | unknown
    flags: tuple[str, ...]        # the flags some allowed execution (passing the filter) raises
    quantifier: str
    holds: bool | None            # whether the quantified claim holds (None when unknown)
    events: int
    time_s: float
    reason: str = ""              # why unknown


def model_text(test: ls.LitmusTest) -> tuple[str, str]:
    """The test as DSL text, and the name its diagnostics would carry."""
    return to_dsl(test), f"{test.path}.dsl"


def prove_litmus(test: ls.LitmusTest, options: SolverOptions | None = None) -> ProvedLitmus:
    """The verdict of `test` under the LKMM, from z3 (a UserError for what the DSL cannot say)."""
    t0 = time.perf_counter()
    options = options or SolverOptions()
    text, name = model_text(test)
    prog = unroll(resolve(s.Module(name, tuple(parse_text(text, name)))))
    enc = encode(prog, "lkmm")
    by_label: dict[str, list] = {"condition": [], "negation": []}
    for c in prog.checks:
        if c.kind == "assert" and c.label in by_label:
            by_label[c.label].append(c)
    positive = enc.violation(by_label["condition"])
    negative = enc.violation(by_label["negation"])
    session = Session(options)
    session.add(enc.base)
    answers: dict[str, Outcome] = {}
    reasons = []

    def ask(key: str, formula: object) -> None:
        with session.frame():
            session.add(formula)
            result = session.check()
        answers[key] = result.outcome
        if result.outcome is Outcome.UNKNOWN:
            reasons.append(f"{key}: {result.reason}")

    ask("A", positive)
    ask("B", negative)
    for flag in sorted(enc.flags):
        ask(flag, enc.raised(flag, [positive, negative]))
    events = sum(1 for ev in prog.events if ev.kind != "FINAL")
    if reasons:
        return ProvedLitmus(test.name, "unknown", (), test.quantifier, None, events, time.perf_counter() - t0,
                            "; ".join(reasons))
    a, b = answers["A"] is Outcome.SAT, answers["B"] is Outcome.SAT
    verdict = "Never" if not a else ("Always" if not b else "Sometimes")
    flags = tuple(f for f in sorted(enc.flags) if answers[f] is Outcome.SAT)
    holds = {"exists": a, "~exists": not a, "forall": not b}[test.quantifier]
    return ProvedLitmus(test.name, verdict, flags, test.quantifier, holds, events, time.perf_counter() - t0)
