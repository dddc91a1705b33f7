"""NOTE(allowed-first) in prove/verify.py: at a level short of the exact LKMM encoding, a
counterexample the evaluator refuses ends the level's answer before any shorter one is looked
for, and in the search for a shorter one, a refused execution ends it with the shortest allowed
one found, not claimed shortest."""

from __future__ import annotations

import dataclasses

import z3

from objcg_proof.lang.diagnostics import SourceCache
from objcg_proof.prove import solver as solver_mod
from objcg_proof.prove import verify
from objcg_proof.prove.solver import Outcome, SolverOptions
from objcg_proof.prove.verify import VerifyOptions

# `early` fails once B reads A's x = 1: 2 steps at the shortest (A's store, B's read with its
# assert); A's stores of y may run before B's read or not
EARLY = """
shared word x = 0;
shared word y = 0;
thread A { x = 1; y = 1; y = 2; y = 3; }
thread B { word r = x; assert(r == 0, "early"); }
"""

OPTIONS = VerifyOptions(solver=SolverOptions(timeout_s=60))


def _long_first(models):  # type: ignore[no-untyped-def]
    """The checker at the exact level, its frame holding `early`'s violation, and a first answer
    that runs every step of A before B's read, the counterexample the solver could give first."""
    path = models.write(EARLY)
    checker = verify.ModelChecker(verify.compile_model(path, SourceCache(), OPTIONS), SourceCache(), OPTIONS)
    assert checker._use(None)
    prop = next(p for p in checker.selected() if p.name == "early")
    enc, session = checker.enc, checker.session
    every_step = z3.Sum([z3.If(x, 1, 0) for x in enc.executed.values()])
    with session.frame():
        session.add(verify._violation_formula(prop, enc))
        with session.frame():
            session.add(every_step >= len(enc.executed))
            first = session.check()
    assert first.outcome == Outcome.SAT
    return checker, prop, first


def _trace(checker, prop, first, allowed):  # type: ignore[no-untyped-def]
    with checker.session.frame():
        checker.session.add(verify._violation_formula(prop, checker.enc))
        return verify._shortest_trace(prop, checker.enc, checker.session, SourceCache(), OPTIONS, first, allowed)


def test_a_first_counterexample_refused_is_not_shortened(models, monkeypatch) -> None:
    checker, prop, first = _long_first(models)
    searches: list[object] = []
    real = solver_mod.Session.incremental
    monkeypatch.setattr(solver_mod.Session, "incremental", lambda self: searches.append(self) or real(self))
    judged: list[int] = []

    def refuse(trace) -> bool:  # type: ignore[no-untyped-def]
        judged.append(len(trace.steps))
        return False

    refused = _trace(checker, prop, first, refuse)
    assert searches == [] and judged == [len(refused.steps)] and not refused.shortest
    shortest = _trace(checker, prop, first, None)
    assert len(searches) == 1 and shortest.shortest and len(shortest.steps) == 2 < len(refused.steps)


def test_a_shorter_counterexample_refused_ends_the_search(models) -> None:
    checker, prop, first = _long_first(models)
    longest = len(_trace(checker, prop, first, lambda t: False).steps)
    # every execution allowed: the shortest, as without a judge
    anything = _trace(checker, prop, first, lambda t: True)
    assert anything.shortest and len(anything.steps) == 2
    # only the executions that run a store of y allowed: the search ends at the first refused one
    judged: list[int] = []

    def with_y(trace) -> bool:  # type: ignore[no-untyped-def]
        judged.append(len(trace.steps))
        return len(trace.steps) > 2

    found = _trace(checker, prop, first, with_y)
    assert not found.shortest and 2 < len(found.steps) <= longest
    assert judged[0] == longest and all(n > 2 for n in judged[:-1]) and judged[-1] == 2


def test_an_execution_the_evaluator_refuses_costs_no_search_for_a_shorter_one(tmp_path, monkeypatch) -> None:
    """v5's attach race with smp_wmb(): the per-location level finds a lost update that the
    evaluator refuses (message passing between the css_set and the update bit), and the marked
    level proves it; no shorter execution is looked for on the way."""
    import sys
    from pathlib import Path

    from model_results import SHIPPED_OPTIONS
    from objcg_proof.runner.batch import lkmm_check
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from test_objcg_attach_race import attach_race_model

    monkeypatch.setattr(verify, "SMALL_SESSION_EVENTS", 8)   # asked in levels, as a design's scenario is
    path = str(attach_race_model("objcg_v5", tmp_path))
    options = dataclasses.replace(SHIPPED_OPTIONS, memory_model="lkmm", defines=(("ATTACH_WMB", 1),),
                                  only=("lost_update",))
    judged: list[str] = []

    def judge(execution):  # type: ignore[no-untyped-def]
        judged.append(lkmm_check(execution))
        return judged[-1]

    checker = verify.ModelChecker(verify.compile_model(path, SourceCache(), options), SourceCache(), options, judge)
    searches: list[object] = []
    real = solver_mod.Session.incremental
    monkeypatch.setattr(solver_mod.Session, "incremental", lambda self: searches.append(self) or real(self))
    result = checker.check(next(p for p in checker.selected() if p.name == "lost_update"))
    assert result.status == verify.PROVED and result.coverage.endswith("part of plain-coherence)")
    assert judged and all(judged) and searches == []
