"""NOTE(apart) in prove/apart.py and NOTE(first-levels) in prove/verify.py: work run in a child
process ends only the child, and a model's first levels asked apart give the verdicts they give
in one process."""

from __future__ import annotations

import dataclasses
import os
import signal
import sys
from pathlib import Path

import pytest

from model_results import SHIPPED_OPTIONS
from objcg_proof.lang.diagnostics import SourceCache
from objcg_proof.prove import apart, verify
from objcg_proof.prove import encode as encode_mod
from objcg_proof.prove.verdict import PROVED, UNKNOWN, VIOLATED, PropertyResult
from objcg_proof.runner.batch import lkmm_check

sys.path.insert(0, str(Path(__file__).resolve().parent))
from test_objcg_attach_race import attach_race_model  # noqa: E402

pytestmark = [pytest.mark.skipif(not hasattr(os, "fork"), reason="work runs apart only where os.fork exists"),
              pytest.mark.one_thread]


def test_what_the_child_sent_comes_back_in_order() -> None:
    def work(send):  # type: ignore[no-untyped-def]
        for i in range(3):
            send(("item", i, "x" * 100_000 * i))   # larger than a pipe's buffer
    sent, ended = apart.run_apart(work)
    assert [s[:2] for s in sent] == [("item", 0), ("item", 1), ("item", 2)] and len(sent[2][2]) == 200_000
    assert ended == apart.Ended("", False)


@pytest.mark.parametrize("how, words", [(lambda: os.kill(os.getpid(), signal.SIGKILL), "SIGKILL: it was killed"),
                                        (os.abort, "SIGABRT: it aborted"),
                                        (lambda: os._exit(3), "exited with status 3")])
def test_a_child_that_ends_early_keeps_what_it_sent(how, words: str) -> None:  # type: ignore[no-untyped-def]
    def work(send):  # type: ignore[no-untyped-def]
        send("first")
        how()
        send("never")
    sent, ended = apart.run_apart(work)
    assert sent == ["first"] and ended.killed and words in ended.how


def test_an_exception_in_the_child_is_raised_in_the_parent() -> None:
    def work(send):  # type: ignore[no-untyped-def]
        send(1)
        raise KeyError("a bug in the work")
    with pytest.raises(KeyError, match="a bug in the work"):
        apart.run_apart(work)


def _checker(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, wmb: int, apart_events: int) -> verify.ModelChecker:
    monkeypatch.setattr(verify, "SMALL_SESSION_EVENTS", 8)
    monkeypatch.setattr(verify, "APART_EVENTS", apart_events)
    path = str(attach_race_model("objcg_v5", tmp_path))
    options = dataclasses.replace(SHIPPED_OPTIONS, memory_model="lkmm", defines=(("ATTACH_WMB", wmb),))
    return verify.ModelChecker(verify.compile_model(path, SourceCache(), options), SourceCache(), options,
                               lkmm_check)


def _verdicts(checker: verify.ModelChecker) -> dict[str, tuple[str, str, int | None]]:
    out = {}
    for prop in checker.selected():
        p = checker.check(prop)
        out[p.name] = (p.status, p.coverage, None if p.trace is None else len(p.trace.steps))
    return out


@pytest.mark.parametrize("wmb", [0, 1])
def test_first_levels_asked_apart_give_the_verdicts_of_one_process(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                   wmb: int) -> None:
    """The attach race of v5 (lost_update violated without smp_wmb(), proved at the marked level
    with it) and its other properties: the same statuses, coverage words and trace lengths,
    whether the first levels are asked in this process or in child processes, which leave this
    process no first level's encoding."""
    here = _checker(tmp_path, monkeypatch, wmb, apart_events=10_000)
    in_process = _verdicts(here)
    assert verify.MARKED in here.built() or wmb == 0
    away = _checker(tmp_path, monkeypatch, wmb, apart_events=8)
    assert _verdicts(away) == in_process
    assert not any(level in verify.FIRST_LEVELS for level in away.built())
    assert in_process["lost_update"][0] == (PROVED if wmb else VIOLATED)
    if wmb:
        assert in_process["lost_update"][1].endswith("part of plain-coherence)")
        assert away.stats()["constraints"] > 0   # the marked level's, as the child built it


def test_a_first_level_whose_process_ends_leaves_the_property_open_there(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A child that ends (here killed, as the OOM killer would) while asking a first level
    leaves that property open there: it goes on to the next level; a new child asks the level's
    other properties; and a property still unknown at the closure levels says how the child
    ended. With smp_wmb(), v5's attach race has uaf and deadlock proved at the per-location
    level, lost_update at the marked level."""
    checker = _checker(tmp_path, monkeypatch, 1, apart_events=8)
    parent = os.getpid()
    real_check = verify._check_property
    kill = {("uaf", verify.PER_LOCATION), ("lost_update", verify.MARKED)}
    closure: list[str] = []

    def check(prop: verify.Property, enc: object, *args: object) -> object:
        if os.getpid() != parent:
            if (prop.name, checker.level) in kill:
                os.kill(os.getpid(), signal.SIGKILL)
            return real_check(prop, enc, *args)   # type: ignore[arg-type]
        closure.append(prop.name)   # in the parent: a closure level, unknown here
        return PropertyResult(prop.name, prop.kind, UNKNOWN, checker.prog.bound, 0.0, "", "timeout", None,
                              len(prop.checks))

    monkeypatch.setattr(verify, "_check_property", check)
    names = [p.name for p in checker.selected()]
    assert names.index("uaf") < names.index("deadlock")
    results = {p.name: checker.check(p) for p in checker.selected()}
    assert results["deadlock"].status == PROVED and results["deadlock"].coverage.endswith("atomicity alone")
    assert results["uaf"].status == PROVED and results["uaf"].coverage.endswith("part of plain-coherence)")
    lost = results["lost_update"]
    assert lost.status == UNKNOWN and closure == ["lost_update"]
    assert lost.reason == ("timeout; at the marked level its process ended before it answered (the process was "
                           "ended by SIGKILL: it was killed (the kernel's OOM killer ends the largest process so))")
    assert set(checker._first_open) == {("uaf", verify.PER_LOCATION), ("lost_update", verify.MARKED)}


def test_a_first_level_that_ends_while_built_is_not_asked_again(tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """A child that ends while building the level leaves every property open there, and no
    other child builds it again."""
    checker = _checker(tmp_path, monkeypatch, 1, apart_events=8)
    parent = os.getpid()
    real_encode = encode_mod.encode
    builds = []

    def encode(*args: object, **kwargs: object) -> object:
        if os.getpid() != parent and kwargs.get("axioms") == verify.MARKED:
            os.kill(os.getpid(), signal.SIGKILL)
        if os.getpid() == parent:
            builds.append(args[2:])
        return real_encode(*args, **kwargs)   # type: ignore[arg-type]

    monkeypatch.setattr(encode_mod, "encode", encode)
    checker._first_answers()
    open_there = {name for (name, level) in checker._first_open if level == verify.MARKED}
    assert open_there and all(how.endswith("building the level)") for how in checker._first_open.values())
    assert open_there == {name for name, answer in checker._first_answers().items() if answer is None}
    assert builds == []   # the first levels were all asked apart


@pytest.mark.parametrize("apart_events", [8, 10_000])
def test_an_unknown_verdict_says_what_the_first_levels_could_not_tell(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, apart_events: int) -> None:
    """A property no level settles is unknown with the closure level's reason, and each first
    level's own unknown after it, asked apart or in this process."""
    checker = _checker(tmp_path, monkeypatch, 1, apart_events=apart_events)

    def check(prop: verify.Property, enc: object, *args: object) -> object:
        return PropertyResult(prop.name, prop.kind, UNKNOWN, checker.prog.bound, 0.0, "", f"gave up at {checker.level}",
                              None, len(prop.checks))

    monkeypatch.setattr(verify, "_check_property", check)
    lost = checker.check([p for p in checker.selected() if p.name == "lost_update"][0])
    assert lost.status == UNKNOWN
    assert lost.reason == ("gave up at 0; at the per-location level the answer was unknown: gave up at per-location; "
                           "at the marked level the answer was unknown: gave up at marked")
