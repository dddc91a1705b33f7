"""NOTE(split-checks) in prove/verify.py: a property whose whole query outlasts its budget is asked
one thread at a time, with the verdict the whole query would give."""

from __future__ import annotations

from pathlib import Path

import pytest

from objcg_proof.lang.diagnostics import SourceCache
from objcg_proof.prove import verify
from objcg_proof.prove.solver import SolverOptions
from objcg_proof.prove.verdict import PROVED, UNKNOWN, VIOLATED
from objcg_proof.prove.verify import VerifyOptions, verify_path

ROOT = Path(__file__).resolve().parents[2]
REFCOUNT = str(ROOT / "models/examples/refcount.dsl")   # uaf violated by Reader only, Owner's checks hold


def _statuses(path: str, options: VerifyOptions) -> dict[str, tuple[str, int | None]]:
    result = verify_path(path, SourceCache(), options)
    return {p.name: (p.status, len(p.trace.steps) if p.trace else None) for p in result.properties}


def _asked_parts(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Records the number of parts of every split query (and lets it run)."""
    seen: list[int] = []
    real = verify._check_parts

    def spy(parts, *args):  # type: ignore[no-untyped-def]
        seen.append(len(parts))
        return real(parts, *args)

    monkeypatch.setattr(verify, "_check_parts", spy)
    return seen


def test_a_violation_in_the_second_thread_is_found_part_by_part(monkeypatch: pytest.MonkeyPatch):
    whole = _statuses(REFCOUNT, VerifyOptions())
    monkeypatch.setattr(verify, "SPLIT_BUDGET", 1)   # every query with parts outlasts it
    parts = _asked_parts(monkeypatch)
    split = _statuses(REFCOUNT, VerifyOptions())
    assert parts == [2]                        # uaf: Owner's checks, then Reader's
    assert split == whole
    assert split["uaf"] == (VIOLATED, 4)


def test_every_part_unsat_is_proved(monkeypatch: pytest.MonkeyPatch):
    options = VerifyOptions(defines=(("BAD", 0),))
    whole = _statuses(REFCOUNT, options)
    monkeypatch.setattr(verify, "SPLIT_BUDGET", 1)
    parts = _asked_parts(monkeypatch)
    split = _statuses(REFCOUNT, options)
    assert parts == [2]
    assert split == whole
    assert split["uaf"] == (PROVED, None)


def test_a_part_the_solver_cannot_decide_makes_the_property_unknown_and_names_it(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(verify, "SPLIT_BUDGET", 1)
    options = VerifyOptions(defines=(("BAD", 0),), solver=SolverOptions(rlimit=1))
    result = verify_path(REFCOUNT, SourceCache(), options)
    uaf = next(p for p in result.properties if p.name == "uaf")
    assert uaf.status == UNKNOWN
    assert "on the checks of thread Owner" in uaf.reason
    assert "NOTE(split-checks)" in uaf.reason


def test_a_query_within_its_budget_is_never_split(monkeypatch: pytest.MonkeyPatch):
    parts = _asked_parts(monkeypatch)
    assert _statuses(REFCOUNT, VerifyOptions())["uaf"] == (VIOLATED, 4)
    assert parts == []
