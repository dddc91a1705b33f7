"""NOTE(weak-replay) in runner/batch.py: every LKMM counterexample's execution graph is judged by
the independent evaluator (oracles/lkmm.py, through runner/weak_replay.py) before it is shown.
The check must pass on real counterexamples and must fail on graphs the LKMM forbids: a graph
edited by hand, and the counterexamples of a prover whose encoding lost an axiom."""

from __future__ import annotations

import dataclasses
import io
from pathlib import Path

import pytest

from model_results import SHIPPED_OPTIONS
from objcg_proof.cli.dispatch import main
from objcg_proof.lang.diagnostics import SourceCache
from objcg_proof.prove import lkmm
from objcg_proof.prove.verdict import VIOLATED, WeakExecution
from objcg_proof.prove.verify import verify_path
from objcg_proof.runner.weak_replay import check_weak_execution

ROOT = Path(__file__).resolve().parents[2]

# message passing with release and acquire: the LKMM forbids reading the flag set and the data old
MP_RELEASE_ACQUIRE = """
shared int data;
shared int flag;
thread P0 {
    WRITE_ONCE(data, 1);
    smp_store_release(&flag, 1);
}
thread P1 {
    int f = smp_load_acquire(&flag);
    int d = READ_ONCE(data);
    assert(f == 0 || d == 1, "mp");
}
"""


def _counterexample(path: Path, name: str) -> WeakExecution:
    options = dataclasses.replace(SHIPPED_OPTIONS, memory_model="lkmm", only=(name,))
    p = verify_path(str(path), SourceCache(), options).properties[0]
    assert p.status == VIOLATED and p.trace is not None and p.trace.execution is not None
    return p.trace.execution


@pytest.mark.parametrize("model, name", [("peterson", "mutual_exclusion"), ("counter", "plain_is_2"),
                                         ("refcount", "uaf"), ("per_node_objcg", "always_charged")])
def test_the_examples_counterexamples_are_allowed(model: str, name: str) -> None:
    x = _counterexample(ROOT / f"models/examples/{model}.dsl", name)
    assert check_weak_execution(x) == ""


def test_peterson_graph_has_fences_ghost_rmws_and_both_threads() -> None:
    x = _counterexample(ROOT / "models/examples/peterson.dsl", "mutual_exclusion")
    assert {e.thread for e in x.events} == {"P0", "P1"}
    ghosts = [e for e in x.events if e.ghost]
    assert ghosts and all(e.loc == "in_cs" for e in ghosts)
    assert {loc for loc, _ in x.coherence} >= {"flag[0]", "flag[1]", "turn", "in_cs"}


def test_a_graph_edited_by_hand_is_rejected() -> None:
    # the counterexample of store buffering, with one thread's read of the other's flag made to
    # read the other's store instead: the value it returned no longer matches the write
    x = _counterexample(ROOT / "models/examples/peterson.dsl", "mutual_exclusion")
    reads = [r for r, w in x.reads_from if w < 0 and x.events[r].loc.startswith("flag")]
    assert reads
    writer = {x.events[i].loc: i for i in range(len(x.events)) if x.events[i].kind == "W"}
    edited = dataclasses.replace(x, reads_from=tuple((r, writer[x.events[r].loc] if r == reads[0] else w)
                                                    for r, w in x.reads_from))
    assert "returned 0, but the write it reads from wrote" in check_weak_execution(edited)
    # a read that reads from no write at all
    dropped = dataclasses.replace(x, reads_from=tuple(p for p in x.reads_from if p[0] != reads[0]))
    assert "reads from no write" in check_weak_execution(dropped)


def test_a_prover_that_lost_happens_before_is_caught(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    model = tmp_path / "mp.dsl"
    model.write_text(MP_RELEASE_ACQUIRE)
    out, err = io.StringIO(), io.StringIO()
    assert main(["--memory-model", "lkmm", str(model)], out, err) == 0   # the real encoding: proved
    real = lkmm._Cat.acyclic

    def without_happens_before(self, r, name):  # type: ignore[no-untyped-def]
        # happens-before is also part of the propagation axiom's graph (NOTE(pb-union))
        if name not in ("happens-before", "propagation"):
            real(self, r, name)

    monkeypatch.setattr(lkmm._Cat, "acyclic", without_happens_before)
    out, err = io.StringIO(), io.StringIO()
    status = main(["--memory-model", "lkmm", str(model)], out, err)
    assert status == 4, out.getvalue() + err.getvalue()
    assert "the LKMM counterexample for mp" in err.getvalue()
    assert "linux-kernel.cat does not allow it" in err.getvalue()
