"""The LKMM with bounded closures (NOTE(bounded-closures) in prove/lkmm.py) and the closure
levels the designs are asked at (NOTE(closure-levels) in prove/verify.py).

The bounded encoding must be a weaker model than the LKMM: every execution the exact encoding
allows, it allows too (so what it proves holds under the LKMM). On the kernel's litmus tests
that is checked both ways a test can show it: a condition the exact encoding can reach, the
bounded one reaches too. And it is weaker in fact: on some test it reaches a condition the LKMM
forbids, which is what the levels are for: such a counterexample is refused by the independent
evaluator and the property asked again, ending at the LKMM's own verdict."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from unittest import mock

import pytest

from objcg_proof.lang import syntax as s
from objcg_proof.lang.diagnostics import SourceCache, UserError
from objcg_proof.lang.litmus_parser import load_litmus, parse_litmus
from objcg_proof.lang.parser import parse_text
from objcg_proof.lang.resolve import resolve
from objcg_proof.prove import verify
from objcg_proof.prove.encode import encode
from objcg_proof.prove.litmus import model_text
from objcg_proof.prove.solver import Outcome, Session, SolverOptions
from objcg_proof.prove.unroll import unroll
from objcg_proof.prove.verdict import PROVED, VIOLATED
from objcg_proof.runner.batch import lkmm_check

from model_results import SHIPPED_OPTIONS
from test_objcg_attach_race import EXPECTED, attach_race_model

LKMM = Path(__file__).resolve().parents[3] / "shared" / "lkmm" / "litmus"
KERNEL_TESTS = sorted(LKMM.glob("**/*.litmus"))
needs_kernel_tests = pytest.mark.skipif(not LKMM.is_dir(), reason="../shared/lkmm/litmus is not beside this checkout")
# a release/acquire chain through three threads: forbidden (Never) only by a cumul-fence path of
# two edges, so the bounded encoding at rounds=0 reaches its condition
ISA2 = """C ISA2-rel-acq
{}
P0(int *x, int *y) { WRITE_ONCE(*x, 1); smp_store_release(y, 1); }
P1(int *y, int *z) { int r0; r0 = smp_load_acquire(y); smp_store_release(z, 1); }
P2(int *x, int *z) { int r0; int r1; r0 = smp_load_acquire(z); r1 = READ_ONCE(*x); }
exists (1:r0=1 /\\ 2:r0=1 /\\ 2:r1=0)
"""
ALLOWED = {   # conditions the LKMM allows (Sometimes)
    "SB": """C SB
{}
P0(int *x, int *y) { int r0; WRITE_ONCE(*x, 1); r0 = READ_ONCE(*y); }
P1(int *x, int *y) { int r0; WRITE_ONCE(*y, 1); r0 = READ_ONCE(*x); }
exists (0:r0=0 /\\ 1:r0=0)
""",
    "MP": """C MP
{}
P0(int *x, int *y) { WRITE_ONCE(*x, 1); WRITE_ONCE(*y, 1); }
P1(int *x, int *y) { int r0; int r1; r0 = READ_ONCE(*y); r1 = READ_ONCE(*x); }
exists (1:r0=1 /\\ 1:r1=0)
""",
}


def _program(path: Path):  # type: ignore[no-untyped-def]
    return _program_of(load_litmus(str(path), SourceCache()))


def _program_text(text: str, name: str):  # type: ignore[no-untyped-def]
    return _program_of(parse_litmus(text, f"{name}.litmus"))


def _program_of(test):  # type: ignore[no-untyped-def]
    text, name = model_text(test)
    return unroll(resolve(s.Module(name, tuple(parse_text(text, name))))), text


def _reachable(prog, label: str, rounds: int | None) -> Outcome:  # type: ignore[no-untyped-def]
    """Whether some execution of the encoding (closures bounded to 2^rounds edges; None: exact)
    reaches the litmus test's final condition (label "condition") or its negation."""
    enc = encode(prog, "lkmm", rounds)
    session = Session(SolverOptions())
    session.add(enc.base)
    with session.frame():
        session.add(enc.violation([c for c in prog.checks if c.kind == "assert" and c.label == label]))
        return session.check().outcome


@needs_kernel_tests
def test_the_kernel_tests_are_there() -> None:
    assert len(KERNEL_TESTS) == 47


@needs_kernel_tests
def test_bounded_closures_forbid_no_lkmm_execution() -> None:
    """On every kernel test the DSL can say: what the exact encoding reaches, each bounded one
    reaches; and the bound is felt: some test reaches under rounds=0 what the LKMM forbids."""
    checked, weaker = 0, []
    for path in KERNEL_TESTS:
        try:
            prog, _ = _program(path)
        except UserError:
            continue
        for label in ("condition", "negation"):
            exact = _reachable(prog, label, None)
            bounded = [_reachable(prog, label, r) for r in (0, 1)]
            assert Outcome.UNKNOWN not in (exact, *bounded), path.name
            if exact is Outcome.SAT:
                assert bounded == [Outcome.SAT, Outcome.SAT], (path.name, label)
            elif bounded[0] is Outcome.SAT:
                weaker.append(path.name)
            checked += 1
    assert checked >= 80
    assert "ISA2+pooncerelease+poacquirerelease+poacquireonce.litmus" in weaker


def _isa2(tmp_path: Path) -> tuple[verify.EventProgram, verify.VerifyOptions]:
    _, text = _program_text(ISA2, "isa2")
    model = tmp_path / "isa2.dsl"
    model.write_text(text)
    options = verify.VerifyOptions(memory_model="lkmm", minimize=False)
    return verify.compile_model(str(model), SourceCache(), options), options


def test_a_counterexample_the_evaluator_refuses_is_asked_again(tmp_path: Path) -> None:
    """ISA2 with release/acquire is Never: rounds=0 finds its condition reachable, the evaluator
    refuses that execution, and the checker asks with longer paths until the answer is the
    LKMM's (the condition's assert proved: no execution reaches it)."""
    prog, options = _isa2(tmp_path)
    refused = []

    def spy(execution):  # type: ignore[no-untyped-def]
        why = lkmm_check(execution)
        if checker.level != verify.SEQUENTIAL:   # the sequential level's are the other properties' (SC-allowed)
            refused.append(why)
        return why

    # the closure levels alone after the per-location level: the marked level proves ISA2 (below)
    levels = tuple(x for x in verify.CLOSURE_LEVELS if x != verify.MARKED)
    with mock.patch.object(verify, "closure_levels", return_value=levels):
        checker = verify.ModelChecker(prog, SourceCache(), options, spy)
        by_name = {p.name: p for p in checker.properties()}
        condition = [p for name, p in by_name.items() if "condition" in name]
        assert len(condition) == 1
        result = checker.check(condition[0])
    assert result.status == PROVED
    assert refused and all(refused), refused   # level 0's counterexample, refused
    assert checker.level == 1                  # and paths of two edges were enough


def test_the_marked_level_proves_what_the_closures_need_two_rounds_for(tmp_path: Path) -> None:
    """ISA2's release/acquire chain is happens-before across three threads: the marked level
    (NOTE(marked-level)), after the per-location level found an execution the evaluator
    refuses, proves the condition unreachable with no closure level built."""
    prog, options = _isa2(tmp_path)
    with mock.patch.object(verify, "closure_levels", return_value=verify.CLOSURE_LEVELS):
        checker = verify.ModelChecker(prog, SourceCache(), options, lkmm_check)
        condition = [p for p in checker.properties() if "condition" in p.name]
        result = checker.check(condition[0])
    assert result.status == PROVED and result.coverage.endswith("part of plain-coherence)")
    assert checker.built() == [verify.SEQUENTIAL, verify.PER_LOCATION, verify.MARKED]


@pytest.mark.parametrize("name", sorted(ALLOWED))
def test_a_counterexample_the_evaluator_allows_stands(tmp_path: Path, name: str) -> None:
    """A condition the LKMM allows, and sequential consistency does not, is violated at the
    first level after the sequential one, the per-location level, and the evaluator agrees."""
    _, text = _program_text(ALLOWED[name], name)
    model = tmp_path / "t.dsl"
    model.write_text(text)
    options = verify.VerifyOptions(memory_model="lkmm", minimize=False)
    prog = verify.compile_model(str(model), SourceCache(), options)
    with mock.patch.object(verify, "closure_levels", return_value=verify.CLOSURE_LEVELS):
        checker = verify.ModelChecker(prog, SourceCache(), options, lkmm_check)
        condition = [p for p in checker.properties() if "condition" in p.name]
        result = checker.check(condition[0])
    assert result.status == VIOLATED and not result.trace.sequential
    assert checker.built() == [verify.SEQUENTIAL, verify.PER_LOCATION]   # no closure level was needed
    assert lkmm_check(result.trace.execution) == ""


def test_closure_levels_by_model_size() -> None:
    """Only the LKMM, and only for models bigger than the litmus-sized ones, asks in levels."""
    small, _ = _program_text(ISA2, "isa2")
    assert verify.closure_levels(small, "lkmm") == (None,)
    assert verify.closure_levels(small, "sc") == (None,)
    big = mock.Mock(events=[None] * (verify.SMALL_SESSION_EVENTS + 1))
    assert verify.closure_levels(big, "lkmm") == verify.CLOSURE_LEVELS
    assert verify.closure_levels(big, "sc") == (None,)


@pytest.mark.parametrize("design", ["objcg_v2", "objcg_v3", "objcg_v5"])
def test_the_attach_race_asked_in_levels_gets_the_exact_verdicts(design: str, tmp_path: Path) -> None:
    """The designs' attach race (tests/prove/test_objcg_attach_race.py, small enough to be asked
    exactly) asked at the closure levels instead: the same verdict under the LKMM with and
    without smp_wmb(), each counterexample one the evaluator allows."""
    path = str(attach_race_model(design, tmp_path))
    got = []
    with mock.patch.object(verify, "closure_levels", return_value=verify.CLOSURE_LEVELS):
        for wmb in (0, 1):
            options = dataclasses.replace(SHIPPED_OPTIONS, memory_model="lkmm", only=("lost_update",),
                                          defines=(("ATTACH_WMB", wmb),))
            p = verify.verify_path(path, SourceCache(), options, lkmm_check).properties[0]
            if p.status == VIOLATED:
                assert lkmm_check(p.trace.execution) == ""
            got.append(p.status)
    assert tuple(got) == EXPECTED[design][1:]


def test_without_the_evaluator_no_bounded_counterexample_is_kept(tmp_path: Path) -> None:
    """A caller that gives no lkmm_check gets only exact counterexamples: SB is asked up to the
    exact encoding, and is violated there."""
    _, text = _program_text(ALLOWED["SB"], "SB")
    model = tmp_path / "sb.dsl"
    model.write_text(text)
    options = verify.VerifyOptions(memory_model="lkmm", minimize=False)
    prog = verify.compile_model(str(model), SourceCache(), options)
    with mock.patch.object(verify, "closure_levels", return_value=verify.CLOSURE_LEVELS):
        checker = verify.ModelChecker(prog, SourceCache(), options)
        result = checker.check([p for p in checker.properties() if "condition" in p.name][0])
    assert result.status == VIOLATED and checker.level is None


def test_a_model_too_large_for_the_marked_level_goes_on_to_the_closure_levels(tmp_path: Path) -> None:
    """NOTE(marked-size): above the limit the marked level is not built, and the property is
    asked at the closure levels, as when z3 has no memory for a level."""
    from objcg_proof.prove import lkmm_clocks

    prog, options = _isa2(tmp_path)
    with mock.patch.object(verify, "closure_levels", return_value=verify.CLOSURE_LEVELS), \
            mock.patch.object(lkmm_clocks, "marked_limit", return_value=10):
        checker = verify.ModelChecker(prog, SourceCache(), options, lkmm_check)
        condition = [p for p in checker.properties() if "condition" in p.name]
        result = checker.check(condition[0])
    assert result.status == PROVED and not result.coverage.endswith("propagation)")
    assert verify.MARKED not in checker.built() and checker.level == 1


MP_LOCK_PLAIN = """C MP+lock+plain
{}
P0(int *x, int *y, spinlock_t *s) { spin_lock(s); *x = 1; WRITE_ONCE(*y, 1); spin_unlock(s); }
P1(int *x, int *y, spinlock_t *s) { int r0; int r1; spin_lock(s); r1 = READ_ONCE(*y); r0 = *x; spin_unlock(s); }
exists (1:r1=1 /\\ 1:r0=0)
"""


@pytest.mark.parametrize("hold", [False, True])
def test_a_large_marked_level_holds_its_flags_back(hold: bool, tmp_path: Path) -> None:
    """NOTE(marked-size): above hold_limit() the plain-coherence families are held back until an
    assignment violates one (NOTE(held-groups) in prove/held.py); MP+lock+plain, forbidden only
    by such a family, is proved at the marked level either way."""
    from objcg_proof.prove import held as held_mod, lkmm_clocks

    _, text = _program_text(MP_LOCK_PLAIN, "mp_lock_plain")
    model = tmp_path / "mp_lock_plain.dsl"
    model.write_text(text)
    options = verify.VerifyOptions(memory_model="lkmm", minimize=False)
    prog = verify.compile_model(str(model), SourceCache(), options)
    added = []
    real = held_mod.HeldBack.violated

    def spy(self, model):  # type: ignore[no-untyped-def]
        out = real(self, model)
        added.extend(out)
        return out

    with mock.patch.object(verify, "closure_levels", return_value=verify.CLOSURE_LEVELS), \
            mock.patch.object(lkmm_clocks, "hold_limit", return_value=-1 if hold else 1 << 30), \
            mock.patch.object(held_mod.HeldBack, "violated", spy):
        checker = verify.ModelChecker(prog, SourceCache(), options, lkmm_check)
        result = checker.check([p for p in checker.properties() if "condition" in p.name][0])
    assert result.status == PROVED and result.coverage.endswith("part of plain-coherence)")
    assert bool(added) == hold


def test_the_marked_limit_follows_the_memory_limit() -> None:
    """NOTE(marked-size): one unit of the size measure per MiB z3 may take, three in a child
    process of run_apart; the fixed limit when that is not known."""
    from objcg_proof.prove import apart, lkmm_clocks

    with mock.patch.object(lkmm_clocks, "memory_limit_mb", return_value=12_052):
        assert lkmm_clocks.marked_limit() == 12_052
        assert apart.run_apart(lambda send: send(lkmm_clocks.marked_limit()))[0] == [36_156]
    with mock.patch.object(lkmm_clocks, "memory_limit_mb", return_value=0):
        assert lkmm_clocks.marked_limit() == lkmm_clocks.MARKED_LIMIT
