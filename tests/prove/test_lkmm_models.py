"""Models of the DSL verified under the LKMM (`--memory-model lkmm`, `memory_model lkmm;`): what
the fences, acquire/release and RCU builtins order, the memory-model switch, and what the
encoding refuses (NOTE(lkmm-models) in prove/verify.py)."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from objcg_proof.cli.dispatch import main


def _run(tmp_path: Path, text: str, *argv: str) -> tuple[int, str, str]:
    path = tmp_path / "m.dsl"
    path.write_text(text)
    out, err = io.StringIO(), io.StringIO()
    status = main([*argv, str(path)], out, err)
    return status, out.getvalue(), err.getvalue()


def _mp(writer: str, reader: str, header: str = "") -> str:
    """Message passing: P0 writes the data, then the flag; P1 reads the flag, then the data."""
    return (f"{header}shared int data;\nshared int flag;\n"
            f"thread P0 {{\n    WRITE_ONCE(data, 1);\n{writer}}}\n"
            f"thread P1 {{\n{reader}    int d = READ_ONCE(data);\n    assert(f == 0 || d == 1, \"mp\");\n}}\n")


UNORDERED = ("    WRITE_ONCE(flag, 1);\n", "    int f = READ_ONCE(flag);\n")


@pytest.mark.parametrize("writer, reader, lkmm", [
    (UNORDERED[0], UNORDERED[1], "violated"),
    ("    smp_wmb();\n    WRITE_ONCE(flag, 1);\n", "    int f = READ_ONCE(flag);\n    smp_rmb();\n", "proved"),
    ("    smp_store_release(&flag, 1);\n", "    int f = smp_load_acquire(&flag);\n", "proved"),
    ("    smp_wmb();\n    WRITE_ONCE(flag, 1);\n", UNORDERED[1], "violated"),      # the reader is unordered
    ("    smp_mb();\n    WRITE_ONCE(flag, 1);\n", "    int f = READ_ONCE(flag);\n    smp_mb();\n", "proved"),
    ("    xchg(&flag, 1);\n", "    int f = xchg(&flag, 1);\n", "proved"),              # fully ordered RMWs
])
def test_message_passing_is_ordered_only_by_what_orders_it(tmp_path: Path, writer: str, reader: str,
                                                           lkmm: str) -> None:
    text = _mp(writer, reader)
    status, out, _ = _run(tmp_path, text, "--json")
    assert status == 0 and json.loads(out)["results"][-1]["status"] == "proved"   # sequential consistency
    status, out, _ = _run(tmp_path, text, "--json", "--memory-model", "lkmm")
    report = json.loads(out)
    mp = [r for r in report["results"] if r["property"] == "mp"][0]
    assert mp["status"] == lkmm
    assert report["models"][0]["memory_model"] == "lkmm"
    if lkmm == "violated":
        assert status == 1 and mp["replayed"] is False
        assert "sequential consistency" in mp["not_replayed"]


def test_a_weak_counterexample_says_what_each_read_saw_and_what_is_unordered(tmp_path: Path) -> None:
    status, out, _ = _run(tmp_path, _mp("    smp_wmb();\n    WRITE_ONCE(flag, 1);\n", UNORDERED[1]),
                          "--memory-model", "lkmm")
    assert status == 1
    assert "read data == 0 from the initial data = 0" in out
    assert "coherence of flag: the initial 0 -> 1 by row" in out
    assert "nothing orders P1's read of flag (row" in out
    assert "P0's write of data" not in out   # the smp_wmb() orders the writer
    status, out, _ = _run(tmp_path, _mp(*UNORDERED), "--json", "--memory-model", "lkmm")
    mp = [r for r in json.loads(out)["results"] if r["property"] == "mp"][0]
    assert any(line.startswith("nothing orders P0's write of data") for line in mp["memory_order"])


def test_dot_writes_the_weak_execution_graph(tmp_path: Path) -> None:
    graphs = tmp_path / "graphs"
    status, out, _ = _run(tmp_path, _mp(*UNORDERED), "--no-traces", "--memory-model", "lkmm", "--dot", str(graphs))
    assert status == 1 and f"wrote {graphs / 'm.mp.dot'}" in out
    dot = (graphs / "m.mp.dot").read_text()
    assert dot.startswith("digraph") and dot.rstrip().endswith("}")
    assert 'label="row 4: R[once] data == 0"' in dot or "R[once] data == 0" in dot
    assert "[label=rf, color=red" in dot and "[label=co, color=blue" in dot and "[label=po]" in dot
    status, _, _ = _run(tmp_path, _mp(*UNORDERED), "--no-traces", "--dot", str(tmp_path / "sc"))
    assert status == 0 and not (tmp_path / "sc").exists()   # sequential consistency: nothing to draw


def test_the_declaration_and_the_option(tmp_path: Path) -> None:
    declared = _mp(*UNORDERED, header="memory_model lkmm;\n")
    status, out, _ = _run(tmp_path, declared, "--no-traces")
    assert status == 1 and "under the LKMM" in out.splitlines()[0]
    status, out, _ = _run(tmp_path, declared, "--no-traces", "--memory-model", "sc")
    assert status == 0 and "under the LKMM" not in out
    status, out, _ = _run(tmp_path, _mp(*UNORDERED, header="memory_model sc;\n"), "--json")
    assert status == 0 and "memory_model" not in json.loads(out)["models"][0]


@pytest.mark.parametrize("header, message", [
    ("memory_model tso;\n", "1:1: error: unknown memory model 'tso'"),
    ("memory_model lkmm;\nmemory_model sc;\n", "2:1: error: memory_model declared twice"),
])
def test_a_bad_declaration_is_a_located_error(tmp_path: Path, header: str, message: str) -> None:
    status, _, err = _run(tmp_path, _mp(*UNORDERED, header=header))
    assert status == 2 and message in err and "Traceback" not in err


def test_atomic_blocks_of_two_real_accesses_are_refused_under_the_lkmm(tmp_path: Path) -> None:
    text = ("shared int x;\nshared int y;\nghost int seen;\n"
            "thread A {\n    atomic {\n        x = 1;\n        y = 1;\n    }\n}\n"
            "thread B {\n    int r = READ_ONCE(x);\n    atomic {\n        seen = r;\n        WRITE_ONCE(y, 2);\n    }\n}\n")
    status, _, _ = _run(tmp_path, text)
    assert status == 0
    status, _, err = _run(tmp_path, text, "--memory-model", "lkmm")
    assert status == 2
    assert "m.dsl:5:5: error: this step makes 2 shared accesses" in err
    assert "m.dsl:12" not in err      # one real access and a ghost in one block: taken (NOTE(ghost-lkmm))


# NOTE(ghost-lkmm): a ghost write is a release, a ghost read an acquire
GHOST_HANDOFF = ("shared int data;\nshared int flag;\nghost int handed;\n"
                 "thread P0 {\n    WRITE_ONCE(data, 1);\n    handed = 1;\n}\n"
                 "thread P1 {\n    await(handed == 1);\n    int d = READ_ONCE(data);\n    assert(d == 1, \"seen\");\n}\n")


def test_a_ghost_handoff_synchronises_as_release_and_acquire(tmp_path: Path) -> None:
    status, out, _ = _run(tmp_path, GHOST_HANDOFF, "--memory-model", "lkmm", "--json")
    assert status == 0 and _statuses(out)["seen"] == "proved"
    # the same handoff through a real flag without ordering: the data may be stale
    real = GHOST_HANDOFF.replace("handed = 1;", "WRITE_ONCE(flag, 1);").replace(
        "await(handed == 1);", "int f = READ_ONCE(flag);\n    assume(f == 1);")
    status, out, _ = _run(tmp_path, real, "--memory-model", "lkmm", "--json")
    assert status == 1 and _statuses(out)["seen"] == "violated"


def test_a_ghost_increment_is_one_atomic_read_modify_write(tmp_path: Path) -> None:
    text = ("ghost int done;\nshared int x;\n"
            "thread A {\n    WRITE_ONCE(x, 1);\n    done++;\n}\n"
            "thread B {\n    WRITE_ONCE(x, 2);\n    done++;\n}\n"
            "thread C {\n    await(done == 2);\n    int v = READ_ONCE(x);\n    assert(v != 0, \"written\");\n}\n")
    status, out, _ = _run(tmp_path, text, "--memory-model", "lkmm", "--json")
    statuses = _statuses(out)
    assert statuses["deadlock"] == "proved"     # neither increment is lost: C always gets past its wait
    assert statuses["written"] == "proved"      # and it sees a store of each thread that got there first
    assert status == 0


def test_ghost_bookkeeping_does_not_hide_a_weak_outcome(tmp_path: Path) -> None:
    # store buffering, each thread noting what it read in a ghost: the ghosts order nothing
    # between the real store and load, so both reads of 0 stay possible
    text = ("shared int x;\nshared int y;\nghost int saw0 = 1;\nghost int saw1 = 1;\n"
            "thread P0 {\n    WRITE_ONCE(x, 1);\n    int r = READ_ONCE(y);\n    saw0 = r;\n}\n"
            "thread P1 {\n    WRITE_ONCE(y, 1);\n    int r = READ_ONCE(x);\n    saw1 = r;\n}\n"
            "final {\n    assert(saw0 == 1 || saw1 == 1, \"sb\");\n}\n")
    status, out, _ = _run(tmp_path, text, "--memory-model", "lkmm", "--json")
    assert status == 1 and _statuses(out)["sb"] == "violated"
    status, out, _ = _run(tmp_path, text, "--json")
    assert status == 0 and _statuses(out)["sb"] == "proved"


# A ghost noted in the block of the real store it describes (the objcg harness's bookkeeping,
# models/harness/objcg.dsl): under sequential consistency the block is one step; under the LKMM
# its accesses are events in program order, and a reader that sees the store sees a ghost
# written after it only if something orders the two. Written before a release store, the
# release publishes it (docs/lkmm.md, "The default scenario": v5's false alarm).
GHOST_WITH_A_STORE = ("shared int p;\nghost int mark;\n"
                      "thread W {\n    atomic {\n%s    }\n}\n"
                      "thread R {\n    int v = READ_ONCE(p);\n    smp_mb();\n    int m = mark;\n"
                      "    assert(v == 0 || m == 1, \"seen with\");\n}\n")
STORE, NOTE = "        smp_store_release(&p, 1);\n", "        mark = 1;\n"


# A ghost the kernel reads under a lock (the harness's rmdir, which waits for its memcg to be
# empty and then takes cgroup_mutex): read in the lock's step before spin_lock(), the read may be
# older than the lock's critical section; read after it, the lock's acquire orders it after the
# section before (docs/lkmm.md, "The harness's synchronisation": objcg_prepatch's false alarm).
GHOST_UNDER_A_LOCK = ("shared int m;\nshared int data;\nghost int mark;\n"
                      "thread W {\n    spin_lock(&m);\n    atomic {\n        WRITE_ONCE(data, 1);\n"
                      "        mark = 1;\n    }\n    spin_unlock(&m);\n}\n"
                      "thread R {\n    int k;\n    atomic {\n%s    }\n    int d = READ_ONCE(data);\n"
                      "    spin_unlock(&m);\n    assert(d == 0 || k == 1, \"read under the lock\");\n}\n")
READ, LOCK = "        k = mark;\n", "        spin_lock(&m);\n"


@pytest.mark.parametrize("text, label, lkmm", [
    (GHOST_WITH_A_STORE % (STORE + NOTE), "seen with", "violated"),
    (GHOST_WITH_A_STORE % (NOTE + STORE), "seen with", "proved"),
    (GHOST_UNDER_A_LOCK % (READ + LOCK), "read under the lock", "violated"),
    (GHOST_UNDER_A_LOCK % (LOCK + READ), "read under the lock", "proved"),
], ids=["ghost-after-the-store", "ghost-before-the-store", "ghost-read-before-the-lock", "ghost-read-after-the-lock"])
def test_where_a_ghost_stands_in_its_step_matters_under_the_lkmm_only(
        tmp_path: Path, text: str, label: str, lkmm: str) -> None:
    status, out, _ = _run(tmp_path, text, "--json")
    assert status == 0 and _statuses(out)[label] == "proved"
    status, out, _ = _run(tmp_path, text, "--memory-model", "lkmm", "--json")
    assert _statuses(out)[label] == lkmm and status == (1 if lkmm == "violated" else 0)


def test_the_ordering_hint_takes_a_ghost_read_as_an_acquire_and_a_ghost_write_as_a_release(tmp_path: Path) -> None:
    text = ("shared int p;\nshared int q;\nghost int mark;\n"
            "thread W {\n    WRITE_ONCE(p, 1);\n    mark = 1;\n    WRITE_ONCE(q, 1);\n}\n"
            "thread R {\n    int w = READ_ONCE(q);\n    int k = mark;\n    int v = READ_ONCE(p);\n"
            "    assert(k == 0 || v == 1, \"handed\");\n    assert(w == 0, \"q\");\n}\n")
    status, out, _ = _run(tmp_path, text, "--memory-model", "lkmm", "--json")
    assert status == 1 and _statuses(out) == {"uaf": "proved", "deadlock": "proved", "handed": "proved",
                                              "q": "violated"}
    hints = {line for r in json.loads(out)["results"] if r["property"] == "q"
             for line in r["memory_order"] if line.startswith("nothing orders ")}
    # the release orders what is before it, the acquire what is after it; nothing else
    assert {h.split(" (row")[0] for h in hints} == {"nothing orders W's write of mark",
                                                    "nothing orders R's read of q"}, hints


def _statuses(out: str) -> dict[str, str]:
    return {r["property"]: r["status"] for r in json.loads(out)["results"]}


def _sb(fence0: str, fence1: str) -> str:
    """Store buffering; each thread stores its result, the final block checks both."""
    return ("shared int x;\nshared int y;\nshared int go;\nshared int res0 = 1;\nshared int res1 = 1;\n"
            f"thread P0 {{\n    int k = READ_ONCE(go);\n    WRITE_ONCE(x, 1);\n{fence0}"
            "    int r = READ_ONCE(y);\n    WRITE_ONCE(res0, r);\n}\n"
            f"thread P1 {{\n    WRITE_ONCE(y, 1);\n{fence1}"
            "    int r = READ_ONCE(x);\n    WRITE_ONCE(res1, r);\n}\n"
            "final {\n    assert(res0 == 1 || res1 == 1, \"sb\");\n}\n")


@pytest.mark.parametrize("fence0, expected", [
    ("    smp_mb();\n", "proved"),
    ("    if (k == 0) {\n        smp_mb();\n    }\n", "proved"),      # go is always 0: the fence always runs
    ("    if (k == 1) {\n        smp_mb();\n    }\n", "violated"),    # never runs
    ("", "violated"),
])
def test_a_fence_in_a_branch_orders_only_where_it_runs(tmp_path: Path, fence0: str, expected: str) -> None:
    status, out, _ = _run(tmp_path, _sb(fence0, "    smp_mb();\n"), "--json", "--memory-model", "lkmm")
    sb = [r for r in json.loads(out)["results"] if r["property"] == "sb"][0]
    assert sb["status"] == expected


def test_an_rcu_grace_period_waits_for_a_section_that_ends_its_thread(tmp_path: Path) -> None:
    # RCU+sync+read in the DSL: the reader's rcu_read_unlock() is its thread's last statement
    # (a fence of no step, NOTE(fence-events))
    text = ("shared int x;\nshared int y;\nshared int r0s = 0;\nshared int r1s = 1;\n"
            "thread Updater {\n    int r0 = READ_ONCE(x);\n    synchronize_rcu();\n    int r1 = READ_ONCE(y);\n"
            "    WRITE_ONCE(r0s, r0);\n    WRITE_ONCE(r1s, r1);\n}\n"
            "thread Reader {\n    rcu_read_lock();\n    WRITE_ONCE(x, 1);\n    WRITE_ONCE(y, 1);\n"
            "    rcu_read_unlock();\n}\n"
            "final {\n    assert(!(r0s == 1 && r1s == 0), \"rcu\");\n}\n")
    status, out, _ = _run(tmp_path, text, "--json", "--memory-model", "lkmm")
    assert [r["status"] for r in json.loads(out)["results"] if r["property"] == "rcu"] == ["proved"]
    unsynced = text.replace("    synchronize_rcu();\n", "")
    status, out, _ = _run(tmp_path, unsynced, "--json", "--memory-model", "lkmm")
    assert [r["status"] for r in json.loads(out)["results"] if r["property"] == "rcu"] == ["violated"]
