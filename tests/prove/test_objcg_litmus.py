"""The objcg protocol's ordering question, isolated in litmus tests (models/litmus/): does the
migration's css_set store reach the task before the update bit it sets afterwards? The verdict
of each test, from the independent evaluator and from the prover, written here by hand from
linux-kernel.cat's reading (docs/lkmm.md, section 6), not copied from a run."""

from __future__ import annotations

from pathlib import Path

import pytest

from objcg_proof.lang.diagnostics import SourceCache
from objcg_proof.lang.litmus_parser import load_litmus
from objcg_proof.oracles.lkmm import check_litmus
from objcg_proof.prove.litmus import prove_litmus

LITMUS = Path(__file__).resolve().parents[2] / "models" / "litmus"

EXPECTED = {
    # nothing on the migration's side orders the css_set store before set_bit(): a lost update
    "objcg-attach-unordered": "Sometimes",
    # an unlock then a lock in program order (task_lock() in mem_cgroup_lru_gen_attach()) orders it
    "objcg-attach-task-lock": "Never",
    # so does smp_wmb() before set_bit(), the task's xchg() being fully ordered
    "objcg-attach-wmb": "Never",
    # and smp_mb__before_atomic()
    "objcg-attach-mb": "Never",
}


def test_every_objcg_litmus_test_has_an_expected_verdict() -> None:
    assert {p.stem for p in LITMUS.glob("*.litmus")} == set(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_objcg_litmus_verdict(name: str) -> None:
    test = load_litmus(str(LITMUS / f"{name}.litmus"), SourceCache())
    evaluated, proved = check_litmus(test), prove_litmus(test)
    assert evaluated.verdict == proved.verdict == EXPECTED[name]
    assert evaluated.flags == proved.flags == ()
    assert f"Result: {EXPECTED[name]}" in (LITMUS / f"{name}.litmus").read_text()
