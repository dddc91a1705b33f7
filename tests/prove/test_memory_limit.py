"""NOTE(memory-limit) in prove/solver.py: z3 is held to a share of the machine's memory, and an
encoding or a query past it is an `unknown` verdict with its reason, never a process killed
without a word, and never a proof."""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

import pytest
import z3

from model_results import SHIPPED_OPTIONS
from objcg_proof.lang.diagnostics import SourceCache
from objcg_proof.prove import encode as encode_mod
from objcg_proof.prove import solver, verify
from objcg_proof.prove.verdict import UNKNOWN, VIOLATED
from objcg_proof.prove.verify import verify_path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from test_objcg_attach_race import attach_race_model  # noqa: E402

OPTIONS = dataclasses.replace(SHIPPED_OPTIONS, memory_model="lkmm", only=("lost_update",))


def test_the_limit_is_a_share_of_the_machine_divided_among_the_processes() -> None:
    try:
        one, two = solver.limit_memory(1), solver.limit_memory(2)
        assert one == int(solver.machine_memory_mb() * solver.MEMORY_SHARE) and one > 0
        assert abs(two - one / 2) <= 1
        assert solver.memory_limit_mb() == two
    finally:
        solver.limit_memory()
    assert solver.memory_limit_mb() == one


def test_an_encoding_z3_cannot_build_is_unknown_and_z3_goes_on(tmp_path: Path) -> None:
    path = str(attach_race_model("objcg_v5", tmp_path))
    try:
        # a megabyte more than z3 holds: building the encoding or solving it runs out
        solver.set_memory_limit(int(z3.z3core.Z3_get_estimated_alloc_size()) // (1 << 20) + 1)
        result = verify_path(path, SourceCache(), OPTIONS)
    finally:
        solver.limit_memory()
    p = result.properties[0]
    assert p.status == UNKNOWN and p.trace is None
    assert p.reason.startswith("z3 ran out of memory") and "MiB, NOTE(memory-limit))" in p.reason
    # the same process, under its own limit again, answers
    assert verify_path(path, SourceCache(), OPTIONS).properties[0].status == VIOLATED


def test_an_encoding_that_runs_out_says_which(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def exhausted(*args: object, **kwargs: object) -> None:
        raise z3.Z3Exception(b"out of memory")

    monkeypatch.setattr(encode_mod, "_memory_model", exhausted)
    p = verify_path(str(attach_race_model("objcg_v5", tmp_path)), SourceCache(), OPTIONS).properties[0]
    assert p.status == UNKNOWN
    assert p.reason.startswith("z3 ran out of memory building the LKMM encoding with exact closures of 22 events "
                               f"(its limit: {solver.memory_limit_mb()} MiB, NOTE(memory-limit)); try a smaller "
                               "scenario (-D)"), p.reason


def test_running_out_while_solving_is_unknown_and_the_level_is_not_asked_again(tmp_path: Path,
                                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """z3 raises "out of memory" wherever it runs out (pushing a frame, adding, solving): the
    property is unknown, and the next property does not ask that solver again."""
    path = str(attach_race_model("objcg_v5", tmp_path))
    asked = []

    def exhausted(*args: object, **kwargs: object) -> None:
        asked.append(1)
        raise z3.Z3Exception(b"out of memory")

    monkeypatch.setattr(verify, "_check_property", exhausted)
    options = dataclasses.replace(OPTIONS, only=())
    result = verify_path(path, SourceCache(), options)
    assert len(result.properties) > 1 and len(asked) == 1
    for p in result.properties:
        assert p.status == UNKNOWN and p.reason.startswith("z3 ran out of memory (its limit: "), p


def test_a_serial_run_lets_each_models_encodings_go_before_the_next(tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """z3 counts what a model's encodings hold until they are collected: a serial run over two
    models releases the first model's checker (encodings, solvers) before it builds the second's,
    so an earlier model that filled z3's memory does not make every later one unknown."""
    from objcg_proof.runner.batch import verify_models

    released: list[tuple[int, int]] = []
    real = verify.ModelChecker.release

    def release(self: verify.ModelChecker) -> None:
        real(self)
        released.append((len(self._sessions), 0 if self.enc is None else 1))

    monkeypatch.setattr(verify.ModelChecker, "release", release)
    paths = [str(attach_race_model(d, tmp_path)) for d in ("objcg_v2", "objcg_v5")]
    outcomes = verify_models(paths, OPTIONS)
    assert [o.result.properties[0].status for o in outcomes if o.result is not None] == [VIOLATED, VIOLATED]
    assert released == [(0, 0), (0, 0)]


def test_every_property_gets_its_first_levels_before_a_closure_level_is_built(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """NOTE(first-levels) in prove/verify.py: a closure level that exhausts z3's memory
    leaves it exhausted, so no closure level is built before every property had its sequential
    and per-location levels."""
    from objcg_proof.runner.batch import lkmm_check

    monkeypatch.setattr(verify, "SMALL_SESSION_EVENTS", 8)
    # without the marked level, which proves this lost_update (test_objcg_attach_race.py), so
    # that one property goes on to a closure level
    levels = tuple(x for x in verify.CLOSURE_LEVELS if x != verify.MARKED)
    monkeypatch.setattr(verify, "closure_levels", lambda *args, **kwargs: levels)
    events: list[str] = []
    real_encode, real_sequential = encode_mod.encode, verify.ModelChecker._sequential_violation
    real_check = verify._check_property

    def encode(*args: object, **kwargs: object) -> object:
        events.append(f"{kwargs['axioms']} level built" if "axioms" in kwargs else f"level {args[2:]} built")
        return real_encode(*args, **kwargs)   # type: ignore[arg-type]

    def sequential(self: verify.ModelChecker, prop: verify.Property, t0: float) -> object:
        events.append(f"sequential {prop.name}")
        return real_sequential(self, prop, t0)

    def check(prop: verify.Property, enc: object, *args: object) -> object:
        events.append(f"check {prop.name}")
        return real_check(prop, enc, *args)   # type: ignore[arg-type]

    monkeypatch.setattr(encode_mod, "encode", encode)
    monkeypatch.setattr(verify.ModelChecker, "_sequential_violation", sequential)
    monkeypatch.setattr(verify, "_check_property", check)
    result = verify_path(str(attach_race_model("objcg_v5", tmp_path)), SourceCache(),
                         dataclasses.replace(OPTIONS, only=(), defines=(("ATTACH_WMB", 1),)), lkmm_check)
    names = [p.name for p in result.properties]
    assert len(names) > 1
    first_closure = next(i for i, e in enumerate(events) if e.startswith("level"))
    assert events[0] == "sequential level built" and "per-location level built" in events[:first_closure]
    # every property was asked at the sequential level, and those it did not settle at the
    # per-location level, before the first closure level was built (lost_update needs one here)
    assert {f"sequential {n}" for n in names} <= set(events[:first_closure])
    assert "check lost_update" in events[:first_closure] and "check lost_update" in events[first_closure:]
    assert all(not e.startswith("sequential") for e in events[first_closure:])
