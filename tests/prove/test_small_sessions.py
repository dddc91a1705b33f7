"""NOTE(small-sessions) in prove/verify.py: a small model asks every query on one incremental
solver; the verdicts and shortest lengths are those of fresh solvers, and a query stopped at a
limit never spoils the next."""

from __future__ import annotations

import glob
from pathlib import Path

import pytest
import z3

from objcg_proof.lang.diagnostics import SourceCache
from objcg_proof.prove import solver as solver_mod
from objcg_proof.prove import verify
from objcg_proof.prove.solver import Outcome, Session, SolverOptions
from objcg_proof.prove.verify import ModelChecker, VerifyOptions, compile_model, verify_path

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted(glob.glob(str(ROOT / "models/examples/*.dsl")))
REFCOUNT = str(ROOT / "models/examples/refcount.dsl")   # uaf violated by Reader only, Owner's checks hold


def _verdicts(path: str) -> dict[str, tuple[str, int | None, str]]:
    result = verify_path(path, SourceCache(), VerifyOptions())
    return {p.name: (p.status, len(p.trace.steps) if p.trace else None, p.coverage) for p in result.properties}


def _solvers_asked(monkeypatch: pytest.MonkeyPatch) -> list[z3.Solver]:
    """Records the solver of every query."""
    asked: list[z3.Solver] = []
    real = solver_mod._ask

    def spy(solver, options, assumptions):  # type: ignore[no-untyped-def]
        asked.append(solver)
        return real(solver, options, assumptions)

    monkeypatch.setattr(solver_mod, "_ask", spy)
    return asked


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: Path(p).stem)
def test_one_incremental_solver_gives_the_verdicts_of_fresh_ones(path: str, monkeypatch: pytest.MonkeyPatch) -> None:
    asked = _solvers_asked(monkeypatch)
    small = _verdicts(path)
    assert len(asked) > 1 and len({id(s) for s in asked}) == 1   # every query on the session's one solver
    asked.clear()
    monkeypatch.setattr(verify, "SMALL_SESSION_EVENTS", 0)
    # the same encoding as the small run, the exact one: only the solvers differ (a model past the
    # threshold would otherwise be asked in levels too, whose proofs say where they were found)
    monkeypatch.setattr(verify, "closure_levels", lambda *args, **kwargs: (None,))
    fresh = _verdicts(path)
    assert len({id(s) for s in asked}) > 1                 # now a fresh solver per query
    assert small == fresh                                  # statuses, shortest lengths, coverage words


def test_only_small_models_get_one_solver() -> None:
    for path, small in [(REFCOUNT, True), (str(ROOT / "tests/narrow/objcg_v5.dsl"), False)]:
        prog = compile_model(path, SourceCache(), VerifyOptions())
        assert ModelChecker(prog, SourceCache(), VerifyOptions()).session.small is small


def _owner_part_after_a_stopped_query(small: bool) -> Outcome:
    """refcount's uaf asked whole under a budget of 1 resource unit (stopped), then the checks
    of thread Owner alone, which hold: the second answer must be unsat."""
    sources = SourceCache()
    prog = compile_model(REFCOUNT, sources, VerifyOptions())
    checker = ModelChecker(prog, sources, VerifyOptions())
    session = Session(SolverOptions(), small=small)
    session.add(checker.enc.base)
    uaf = next(p for p in checker.properties() if p.name == "uaf")
    owner, _reader = verify._parts(uaf)
    with session.frame():
        session.add(verify._violation_formula(uaf, checker.enc))
        assert session.check(budget=1).outcome == Outcome.UNKNOWN
    with session.frame():
        session.add(checker.enc.violation(owner))
        return session.check().outcome


def test_a_query_stopped_at_its_budget_does_not_spoil_the_next() -> None:
    assert _owner_part_after_a_stopped_query(small=False) == Outcome.UNSAT
    assert _owner_part_after_a_stopped_query(small=True) == Outcome.UNSAT
