"""The prover's LKMM encoding (prove/lkmm.py, through prove/litmus.py) against the independent
evaluator (oracles/lkmm.py): the same verdict and the same flags on the kernel's litmus tests
that the DSL can say, on classic shapes written here, and on generated litmus tests (hypothesis,
derandomized, so every CI run checks the same programs)."""

from __future__ import annotations

import csv
import re
from pathlib import Path
from unittest import mock

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from objcg_proof.lang.diagnostics import SourceCache, UserError
from objcg_proof.lang.litmus_parser import load_litmus, parse_litmus
from objcg_proof.oracles.lkmm import check_litmus
from objcg_proof.prove import litmus as litmus_prover
from objcg_proof.prove.litmus import prove_litmus
from objcg_proof.prove import lkmm_clocks
from objcg_proof.prove.lkmm import CAT, MARKED, PER_LOCATION, SEQUENTIAL

LKMM = Path(__file__).resolve().parents[3] / "shared" / "lkmm" / "litmus"
GENERATED = int(__import__("os").environ.get("LKMM_GENERATED", "1000"))


def _both(text: str) -> tuple[tuple[str, tuple[str, ...]], tuple[str, tuple[str, ...]]]:
    test = parse_litmus(text, "t.litmus")
    z, x = prove_litmus(test), check_litmus(test)
    return (z.verdict, z.flags), (x.verdict, x.flags)


CLASSIC = {
    "SB": ("P0(int *x, int *y) { int r0; WRITE_ONCE(*x, 1); r0 = READ_ONCE(*y); }\n"
           "P1(int *x, int *y) { int r0; WRITE_ONCE(*y, 1); r0 = READ_ONCE(*x); }\n"
           "exists (0:r0=0 /\\ 1:r0=0)", "Sometimes"),
    "SB+mbs": ("P0(int *x, int *y) { int r0; WRITE_ONCE(*x, 1); smp_mb(); r0 = READ_ONCE(*y); }\n"
               "P1(int *x, int *y) { int r0; WRITE_ONCE(*y, 1); smp_mb(); r0 = READ_ONCE(*x); }\n"
               "exists (0:r0=0 /\\ 1:r0=0)", "Never"),
    "MP+rel-acq": ("P0(int *x, int *y) { WRITE_ONCE(*x, 1); smp_store_release(y, 1); }\n"
                   "P1(int *x, int *y) { int r0; int r1; r0 = smp_load_acquire(y); r1 = READ_ONCE(*x); }\n"
                   "exists (1:r0=1 /\\ 1:r1=0)", "Never"),
    "LB+ctrl+data": ("P0(int *x, int *y) { int r0; r0 = READ_ONCE(*x); if (r0 == 1) WRITE_ONCE(*y, 1); }\n"
                     "P1(int *x, int *y) { int r0; r0 = READ_ONCE(*y); WRITE_ONCE(*x, r0); }\n"
                     "exists (0:r0=1 /\\ 1:r0=1)", "Never"),
    # a cycle no marked access orders (the plain store ends no hb edge): allowed, with a data race;
    # the evaluator once missed it, growing read values only from the initial state
    "LB+ctrl+plain": ("P0(int *x, int *y) { int r0; r0 = READ_ONCE(*x); if (r0 == 1) WRITE_ONCE(*y, 1); }\n"
                      "P1(int *x, int *y) { int r0; r0 = READ_ONCE(*y); if (r0 == 1) *x = 1; }\n"
                      "exists (0:r0=1 /\\ 1:r0=1)", "Sometimes"),
    # smp_mb__after_unlock_lock() makes P0's unlock and P1's lock a full barrier: mb composes
    # po-unlock-lock-po through the fence (NOTE(fence-ends)); Sometimes without the fence
    "SB+unlocklock+after-unlock-lock": (
        "P0(int *x, int *y, spinlock_t *s) { spin_lock(s); WRITE_ONCE(*x, 1); spin_unlock(s); }\n"
        "P1(int *x, int *y, spinlock_t *s) { int r0; int r1; spin_lock(s); smp_mb__after_unlock_lock(); "
        "r0 = READ_ONCE(*x); r1 = READ_ONCE(*y); spin_unlock(s); }\n"
        "P2(int *x, int *y, spinlock_t *s) { int r0; WRITE_ONCE(*y, 1); smp_mb(); r0 = READ_ONCE(*x); }\n"
        "exists (1:r0=1 /\\ 1:r1=0 /\\ 2:r0=0)", "Never"),
    # cumul-fence ends in rmw-sequence: the release reaches P2 through P1's atomic_inc()
    "MP+rel+inc+acq": ("P0(int *x, int *y) { WRITE_ONCE(*x, 1); smp_store_release(y, 1); }\n"
                       "P1(atomic_t *y) { atomic_inc(y); }\n"
                       "P2(int *x, int *y) { int r2; int r3; r2 = smp_load_acquire(y); r3 = READ_ONCE(*x); }\n"
                       "exists (2:r2=2 /\\ 2:r3=0)", "Never"),
    # plain data passed through an unlock and a lock: only plain-coherence forbids r0=0 (the
    # marked level states that part of it: NOTE(marked-plain) in prove/lkmm_plain.py)
    "MP+lock+plain": ("P0(int *x, int *y, spinlock_t *s) { spin_lock(s); *x = 1; WRITE_ONCE(*y, 1); spin_unlock(s); }\n"
                      "P1(int *x, int *y, spinlock_t *s) { int r0; int r1; spin_lock(s); r1 = READ_ONCE(*y); r0 = *x; "
                      "spin_unlock(s); }\n"
                      "exists (1:r1=1 /\\ 1:r0=0)", "Never"),
    # the same through a release and an acquire on another location, and on to a third thread
    "WRC+plain+rel-acq": ("P0(int *x) { *x = 1; }\n"
                          "P1(int *x, int *y) { int r0; r0 = smp_load_acquire(x); smp_store_release(y, 1); }\n"
                          "P2(int *x, int *y) { int r1; int r2; r1 = smp_load_acquire(y); r2 = *x; }\n"
                          "exists (1:r0=1 /\\ 2:r1=1 /\\ 2:r2=0)", "Sometimes"),
    "plain-race": ("P0(int *x) { *x = 1; }\nP1(int *x) { int r0; r0 = READ_ONCE(*x); }\n"
                   "exists (1:r0=1)", "Sometimes"),
    "RCU-gp": ("P0(int *x, int *y) { int r0; int r1; rcu_read_lock(); r0 = READ_ONCE(*x); r1 = READ_ONCE(*y); "
               "rcu_read_unlock(); }\n"
               "P1(int *x, int *y) { WRITE_ONCE(*y, 1); synchronize_rcu(); WRITE_ONCE(*x, 1); }\n"
               "exists (0:r0=1 /\\ 0:r1=0)", "Never"),
}


@pytest.mark.parametrize("name", sorted(CLASSIC))
def test_classic_shapes(name: str) -> None:
    body, expected = CLASSIC[name]
    z, x = _both(f"C {name}\n{{}}\n{body}\n")
    assert z == x
    assert z[0] == expected


def test_plain_race_is_flagged_by_both() -> None:
    body, _ = CLASSIC["plain-race"]
    z, x = _both(f"C race\n{{}}\n{body}\n")
    assert "data-race" in z[1] and z == x


def _kernel_tests() -> list[str]:
    if not LKMM.is_dir():
        return []
    with open(LKMM / "expected.tsv") as f:
        return [row["path"] for row in csv.DictReader(f, delimiter="\t")]


# the kernel tests the DSL cannot say (pointer values, spin_is_locked, atomic_add_unless): the
# explicit evaluator alone gives their verdicts
REFUSED = {"RCU+sync+free.litmus", "MP+onceassign+derefonce.litmus", "MP+polockmbonce+poacquiresilsil.litmus",
           "MP+polockonce+poacquiresilsil.litmus", "Atomic-RMW-ops-are-atomic-WRT-atomic_set.litmus"}


@pytest.mark.skipif(not LKMM.is_dir(), reason="../shared/lkmm/litmus is not beside this checkout")
@pytest.mark.parametrize("path", _kernel_tests())
def test_kernel_litmus_prover_agrees(path: str) -> None:
    test = load_litmus(str(LKMM / path), SourceCache())
    name = Path(path).name
    if name in REFUSED:
        with pytest.raises(UserError):
            prove_litmus(test)
        return
    z, x = prove_litmus(test), check_litmus(test)
    assert (z.verdict, z.flags) == (x.verdict, x.flags)


# ---- generated tests -------------------------------------------------------------------------
LOCS = ("x", "y", "z")
FENCE_CALLS = ("smp_mb()", "smp_rmb()", "smp_wmb()", "smp_mb__before_atomic()", "smp_mb__after_atomic()",
               "barrier()")


@st.composite
def _programs(draw: st.DrawFn) -> str:
    """A litmus test of 2 or 3 threads and at most 6 memory operations, at most 3 writes to a
    location (the explicit evaluator enumerates every coherence order)."""
    locs = LOCS[: draw(st.integers(2, 3))]
    nthreads = draw(st.integers(2, 3))
    writes = {x: 0 for x in locs}
    budget = 6
    value = 0
    threads = []
    observed: list[tuple[str, str]] = []   # (thread:register, the location it read)
    finals: dict[str, set[int]] = {x: {0} for x in locs}
    rcu_used = False
    for t in range(nthreads):
        regs: list[str] = []
        lines: list[str] = []
        size = draw(st.integers(1, max(1, min(3, budget - (nthreads - t - 1)))))
        budget -= size
        rcu = draw(st.sampled_from(["", "", "", "reader", "sync"])) if not rcu_used else ""
        rcu_used = rcu_used or bool(rcu)
        for k in range(size):
            if k and draw(st.integers(0, 3)) == 0:
                lines.append(draw(st.sampled_from(FENCE_CALLS)) + ";")
            if rcu == "sync" and k == 1:
                lines.append("synchronize_rcu();")
            loc = draw(st.sampled_from(locs))
            kinds = ["read", "read", "plain-read", "acquire"]
            if writes[loc] < 3:
                kinds += ["write", "write", "plain-write", "release", "xchg", "cmpxchg", "inc"]
                if regs:
                    kinds.append("data")
            kind = draw(st.sampled_from(kinds))
            value += 1
            reg = f"r{k}"
            if kind in ("write", "plain-write", "release", "xchg", "cmpxchg", "inc", "data"):
                writes[loc] += 1
            if kind == "read":
                stmt = f"{reg} = READ_ONCE(*{loc});"
            elif kind == "plain-read":
                stmt = f"{reg} = *{loc};"
            elif kind == "acquire":
                stmt = f"{reg} = smp_load_acquire({loc});"
            elif kind == "write":
                stmt, _ = f"WRITE_ONCE(*{loc}, {value});", finals[loc].add(value)
            elif kind == "plain-write":
                stmt, _ = f"*{loc} = {value};", finals[loc].add(value)
            elif kind == "release":
                stmt, _ = f"smp_store_release({loc}, {value});", finals[loc].add(value)
            elif kind == "xchg":
                stmt, _ = f"{reg} = xchg({loc}, {value});", finals[loc].add(value)
            elif kind == "cmpxchg":
                old = draw(st.sampled_from([0, value - 1]))
                stmt, _ = f"{reg} = cmpxchg({loc}, {old}, {value});", finals[loc].add(value)
            elif kind == "inc":
                stmt = f"atomic_inc({loc});"
            else:
                src = draw(st.sampled_from(regs))
                stmt = f"WRITE_ONCE(*{loc}, {src});"
            if kind not in ("write", "plain-write", "release", "inc", "data"):
                regs.append(reg)
                observed.append((f"{t}:{reg}", loc))
            if regs and kind in ("write", "release", "inc") and draw(st.integers(0, 3)) == 0:
                stmt = f"if ({draw(st.sampled_from(regs))} == {draw(st.sampled_from([0, 1, 2]))}) {stmt}"
            lines.append(stmt)
        decls = "".join(f"int {r}; " for r in regs)
        body = " ".join(lines)
        if rcu == "reader":
            body = f"rcu_read_lock(); {body} rcu_read_unlock();"
        threads.append(f"P{t}({', '.join(f'int *{x}' for x in locs)}) {{ {decls}{body} }}")
    # the condition names every register (as herd7's weak-memory shapes do: MP's 1:r0=1 /\ 1:r1=0),
    # each with a value some write of its location gives it, and sometimes a final value
    atoms = [f"{reg}={draw(st.sampled_from(sorted(finals[loc])))}" for reg, loc in observed]
    if not atoms or draw(st.booleans()):
        loc = draw(st.sampled_from(locs))
        atoms.append(f"{loc}={draw(st.sampled_from(sorted(finals[loc])))}")
    quantifier = draw(st.sampled_from(["exists", "~exists", "forall"]))
    condition = " /\\ ".join(atoms)
    return "C generated\n{}\n" + "\n".join(threads) + f"\n{quantifier} ({condition})\n"


# classic weak-memory shapes (the cycles herd7's diy generates tests from): each thread's accesses
# as (kind, location, value), and the outcome that only reordering can give
SHAPES = {
    "MP": ([[("W", "x", 1), ("W", "y", 1)], [("R", "y", 0), ("R", "x", 0)]], "1:r0=1 /\\ 1:r1=0"),
    "SB": ([[("W", "x", 1), ("R", "y", 0)], [("W", "y", 1), ("R", "x", 0)]], "0:r1=0 /\\ 1:r1=0"),
    "LB": ([[("R", "x", 0), ("W", "y", 1)], [("R", "y", 0), ("W", "x", 1)]], "0:r0=1 /\\ 1:r0=1"),
    "S": ([[("W", "x", 2), ("W", "y", 1)], [("R", "y", 0), ("W", "x", 1)]], "1:r0=1 /\\ x=2"),
    "R": ([[("W", "x", 1), ("W", "y", 1)], [("W", "y", 2), ("R", "x", 0)]], "y=2 /\\ 1:r1=0"),
    "2+2W": ([[("W", "x", 1), ("W", "y", 2)], [("W", "y", 1), ("W", "x", 2)]], "x=1 /\\ y=1"),
    "WRC": ([[("W", "x", 1)], [("R", "x", 0), ("W", "y", 1)], [("R", "y", 0), ("R", "x", 0)]],
            "1:r0=1 /\\ 2:r0=1 /\\ 2:r1=0"),
    "ISA2": ([[("W", "x", 1), ("W", "y", 1)], [("R", "y", 0), ("W", "z", 1)], [("R", "z", 0), ("R", "x", 0)]],
             "1:r0=1 /\\ 2:r0=1 /\\ 2:r1=0"),
    "CoRR": ([[("W", "x", 1)], [("R", "x", 0), ("R", "x", 0)]], "1:r0=1 /\\ 1:r1=0"),
    "CoWR": ([[("W", "x", 1), ("R", "x", 0)], [("W", "x", 2)]], "0:r1=2 /\\ x=1"),
    "CoRW": ([[("R", "x", 0), ("W", "x", 1)], [("W", "x", 2)]], "0:r0=2 /\\ x=2"),
    "CoWW": ([[("W", "x", 1), ("W", "x", 2)]], "x=1"),
    "IRIW": ([[("W", "x", 1)], [("W", "y", 1)], [("R", "x", 0), ("R", "y", 0)], [("R", "y", 0), ("R", "x", 0)]],
             "2:r0=1 /\\ 2:r1=0 /\\ 3:r0=1 /\\ 3:r1=0"),
}
BETWEEN = ("", "", "", "smp_mb();", "smp_rmb();", "smp_wmb();", "smp_mb__before_atomic();",
           "smp_mb__after_atomic();", "barrier();", "synchronize_rcu();")


@st.composite
def _shapes(draw: st.DrawFn) -> str:
    """A classic shape with every access's flavour, the fence between two accesses, the
    dependencies and RCU read-side sections drawn: tests where ordering decides the verdict."""
    threads, condition = SHAPES[draw(st.sampled_from(sorted(SHAPES)))]
    locs = sorted({loc for th in threads for _, loc, _ in th})
    out = []
    rmw_reads = 0
    for t, accesses in enumerate(threads):
        lines: list[str] = []
        regs: list[str] = []
        for k, (kind, loc, value) in enumerate(accesses):
            if k:
                lines.append(draw(st.sampled_from(BETWEEN)))
            reg = f"r{k}"
            if kind == "R":
                # a read that is an RMW writes too: one per test keeps the coherence orders few
                flavour = draw(st.sampled_from(["once", "once", "acquire", "plain"]
                                               + (["xchg", "cmpxchg", "fetch"] if not rmw_reads else [])))
                rmw_reads += flavour in ("xchg", "cmpxchg", "fetch")
                stmt = {"once": f"{reg} = READ_ONCE(*{loc});", "acquire": f"{reg} = smp_load_acquire({loc});",
                        "plain": f"{reg} = *{loc};", "xchg": f"{reg} = xchg({loc}, 0);",
                        "cmpxchg": f"{reg} = cmpxchg({loc}, 5, 6);",
                        "fetch": f"{reg} = atomic_fetch_add(0, {loc});"}[flavour]
                regs.append(reg)
            else:
                flavour = draw(st.sampled_from(["once", "once", "release", "plain", "xchg", "cmpxchg", "data"]))
                if flavour == "data" and not regs:
                    flavour = "once"
                stmt = {"once": f"WRITE_ONCE(*{loc}, {value});", "release": f"smp_store_release({loc}, {value});",
                        "plain": f"*{loc} = {value};", "xchg": f"r9 = xchg({loc}, {value});",
                        "cmpxchg": f"r9 = cmpxchg({loc}, 0, {value});",
                        "data": f"WRITE_ONCE(*{loc}, {regs[-1] if regs else 0} + {value} - 1);"}[flavour]
                if regs and draw(st.integers(0, 3)) == 0:
                    stmt = f"if ({regs[-1]} == 1) {stmt}"
            lines.append(stmt)
        body = " ".join(x for x in lines if x)
        if draw(st.integers(0, 4)) == 0:
            body = f"rcu_read_lock(); {body} rcu_read_unlock();"
        decls = "".join(f"int {r}; " for r in regs) + ("int r9; " if "r9 =" in body else "")
        out.append(f"P{t}({', '.join(f'int *{x}' for x in locs)}) {{ {decls}{body} }}")
    return "C shape\n{}\n" + "\n".join(out) + f"\nexists ({condition})\n"


LOCKED_AROUND = ("all", "first", "last", "split", "none")
AFTER_LOCK = ("", "", "smp_mb__after_spinlock();", "smp_mb__after_unlock_lock();", "rcu_read_lock(); rcu_read_unlock();",
              "smp_mb();")


@st.composite
def _locked_shapes(draw: st.DrawFn) -> str:
    """A classic shape whose threads hold one spinlock around some of their accesses (all, the
    first, the last, or two critical sections split between two accesses), with the fences
    kernel code puts next to a lock (smp_mb__after_spinlock(), smp_mb__after_unlock_lock()),
    RCU read-side markers inside and outside the critical sections, and fences between the
    accesses: po-unlock-lock-po, the one relation of linux-kernel.cat whose pairs can start
    or end at a fence (NOTE(fence-ends) in prove/lkmm.py)."""
    threads, condition = SHAPES[draw(st.sampled_from(sorted(SHAPES)))]
    locs = sorted({loc for th in threads for _, loc, _ in th})
    out = []
    lockers = 0
    for t, accesses in enumerate(threads):
        stmts: list[str] = []
        regs: list[str] = []
        for k, (kind, loc, value) in enumerate(accesses):
            reg = f"r{k}"
            if kind == "R":
                flavour = draw(st.sampled_from(["once", "acquire", "plain"]))
                stmts.append({"once": f"{reg} = READ_ONCE(*{loc});", "acquire": f"{reg} = smp_load_acquire({loc});",
                              "plain": f"{reg} = *{loc};"}[flavour])
                regs.append(reg)
            else:
                flavour = draw(st.sampled_from(["once", "once", "release", "plain"]))
                stmts.append({"once": f"WRITE_ONCE(*{loc}, {value});", "release": f"smp_store_release({loc}, {value});",
                              "plain": f"*{loc} = {value};"}[flavour])
        # at most two critical sections: the evaluator enumerates every coherence order of the lock word
        around = draw(st.sampled_from(LOCKED_AROUND)) if lockers < 2 else "none"
        n = len(stmts)
        if around in ("first", "last", "split") and n < 2 or around == "split" and lockers:
            around = "all"
        inside = {"all": set(range(n)), "first": {0}, "last": {n - 1}, "split": set(range(n)), "none": set()}[around]
        split_at = draw(st.integers(1, n - 1)) if around == "split" else -1
        lockers += {"none": 0, "split": 2}.get(around, 1)
        lines: list[str] = []
        held = False
        for k, stmt in enumerate(stmts):
            if held and (k not in inside or k == split_at):
                lines += ["spin_unlock(s);", draw(st.sampled_from(("", "", "smp_mb();",
                                                                    "rcu_read_lock(); rcu_read_unlock();")))]
                held = False
            if k:
                lines.append(draw(st.sampled_from(BETWEEN[:-1])))
            if k in inside and not held:
                lines += ["spin_lock(s);", draw(st.sampled_from(AFTER_LOCK))]
                held = True
            lines.append(stmt)
        if held:
            lines.append("spin_unlock(s);")
        body = " ".join(x for x in lines if x)
        if draw(st.integers(0, 3)) == 0:
            body = f"rcu_read_lock(); {body} rcu_read_unlock();"
        decls = "".join(f"int {r}; " for r in regs)
        out.append(f"P{t}({', '.join(f'int *{x}' for x in locs)}, spinlock_t *s) {{ {decls}{body} }}")
    return "C locked\n{}\n" + "\n".join(out) + f"\nexists ({condition})\n"


@settings(max_examples=GENERATED // 4, derandomize=True, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(_locked_shapes())
def test_generated_locked_shapes_prover_agrees_with_evaluator(text: str) -> None:
    z, x = _both(text)
    assert z == x, text


@settings(max_examples=GENERATED // 2, derandomize=True, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(_shapes())
def test_generated_cycles_prover_agrees_with_evaluator(text: str) -> None:
    z, x = _both(text)
    assert z == x, text


@settings(max_examples=GENERATED // 2, derandomize=True, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(_programs())
def test_generated_programs_prover_agrees_with_evaluator(text: str) -> None:
    z, x = _both(text)
    assert z == x, text


# ---- ghost bookkeeping hides no weak outcome (NOTE(ghost-lkmm) in prove/lkmm.py) ----------------
# Each generated test again, with ghost bookkeeping added to every thread: at its start a ghost
# read (an acquire) of a ghost that every thread writes (a release) after each of its reads of
# memory, together with a ghost copy of the register read. The ghosts feed no condition, so the
# verdict and the flags must stay the test's: a ghost access that ordered real accesses it
# should not would make a weak outcome disappear.
GHOST_READ = re.compile(r"^(\s+)(r\d+) = (READ_ONCE|smp_load_acquire|rcu_dereference|xchg|cmpxchg|atomic_\w+)\(",
                        re.M)


def with_ghosts(text: str) -> str:
    count = iter(range(10_000))
    lines = []
    for line in text.splitlines():
        lines.append(line)
        m = GHOST_READ.match(line)
        if m:
            lines += [f"{m.group(1)}__ghost_{next(count)} = {m.group(2)};", f"{m.group(1)}__ghost_mark = 1;"]
        elif re.match(r"^thread P\d+ \{$", line):
            lines.append("    int __seen = __ghost_mark;")
    used = sorted({int(x) for x in re.findall(r"__ghost_(\d+) =", "\n".join(lines))})
    decls = "ghost int __ghost_mark = 0;\n" + "".join(f"ghost int __ghost_{n} = 0;\n" for n in used)
    return ("\n".join(lines) + "\n").replace("\nthread ", "\n" + decls + "thread ", 1)


def _with_and_without_ghosts(text: str) -> tuple[tuple[str, tuple[str, ...]], tuple[str, tuple[str, ...]]]:
    test = parse_litmus(text, "t.litmus")
    plain = prove_litmus(test)
    original = litmus_prover.model_text
    with mock.patch.object(litmus_prover, "model_text", lambda t: (with_ghosts(original(t)[0]), original(t)[1])):
        ghosted = prove_litmus(test)
    return (plain.verdict, plain.flags), (ghosted.verdict, ghosted.flags)


def test_with_ghosts_adds_ghost_accesses() -> None:
    text = with_ghosts(litmus_prover.model_text(parse_litmus(f"C SB\n{{}}\n{CLASSIC['SB'][0]}\n", "t.litmus"))[0])
    assert text.count("int __seen = __ghost_mark;") == 2 and text.count("__ghost_mark = 1;") == 2
    assert "__ghost_0 = r0;" in text and "__ghost_1 = r0;" in text
    assert "ghost int __ghost_1 = 0;" in text


@settings(max_examples=max(1, GENERATED // 20), derandomize=True, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(_shapes())
def test_ghost_bookkeeping_keeps_every_generated_verdict(text: str) -> None:
    plain, ghosted = _with_and_without_ghosts(text)
    assert plain == ghosted, text


# ---- the sequential level is sequential consistency (NOTE(sequential-level) in prove/lkmm.py) ----
# The LKMM encoding restricted to its sequentially consistent executions (what prove/verify.py asks
# a design first) must reach exactly the final states the SC encoding (prove/sc.py) reaches: the
# same answer to "the condition holds at the end" and to "it does not", on every generated test.
# Neither models an RCU grace period (docs/semantics.md), so tests with one are compared too.
def _final_answers(text: str, sequential: bool, axioms: str = CAT, hold: bool = False,
                   give_held: bool = True) -> tuple[str, str]:
    """The prover's answers to "the condition holds at the end" and to its negation; `hold`: the
    marked level's flag families held back from the solver until violated, as on a large model
    (NOTE(held-groups) in prove/held.py), and never given to it without `give_held`."""
    from objcg_proof.lang import syntax as s
    from objcg_proof.lang.parser import parse_text
    from objcg_proof.lang.resolve import resolve
    from objcg_proof.prove.encode import encode
    from objcg_proof.prove.held import HeldBack
    from objcg_proof.prove.solver import Session, SolverOptions
    from objcg_proof.prove.unroll import unroll

    dsl, name = litmus_prover.model_text(parse_litmus(text, "t.litmus"))
    prog = unroll(resolve(s.Module(name, tuple(parse_text(dsl, name)))))
    if sequential or axioms != CAT:
        with mock.patch.object(lkmm_clocks, "hold_limit", lambda: -1 if hold else 1 << 30):
            enc = encode(prog, "lkmm", axioms=SEQUENTIAL if sequential else axioms)
    else:
        enc = encode(prog, "sc")
    session = Session(SolverOptions(), held=HeldBack(enc.held_back) if give_held else None)
    session.add(enc.base)
    answers = []
    for label in ("condition", "negation"):
        with session.frame():
            session.add(enc.violation([c for c in prog.checks if c.kind == "assert" and c.label == label]))
            answers.append(session.check().outcome.name)
    return answers[0], answers[1]


@settings(max_examples=max(1, GENERATED // 4), derandomize=True, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(st.one_of(_programs(), _shapes(), _locked_shapes()))
def test_generated_sequential_level_reaches_what_sc_reaches(text: str) -> None:
    assert _final_answers(text, sequential=True) == _final_answers(text, sequential=False), text


def test_sequential_level_forbids_store_buffering() -> None:
    """SB's weak outcome is LKMM-allowed but not sequentially consistent: unsat at the sequential
    level (and under SC), while the LKMM encoding reaches it."""
    body, _ = CLASSIC["SB"]
    text = f"C SB\n{{}}\n{body}\n"
    assert _final_answers(text, sequential=True)[0] == "UNSAT"
    assert _final_answers(text, sequential=False)[0] == "UNSAT"
    assert prove_litmus(parse_litmus(text, "t.litmus")).verdict == "Sometimes"


# ---- the per-location level is coherence and atomicity (NOTE(per-location-level) in prove/lkmm.py) ----
# The LKMM encoding with only the .cat's axioms of one location must reach exactly what the
# independent evaluator allows under those two axioms alone (oracles/lkmm.py, "per-location"):
# the same answer to "the condition holds at the end" and to "it does not". And it is weaker
# than the LKMM: whatever the evaluator allows under the whole .cat it reaches too.
def _evaluator_answers(text: str, axioms: str = "cat") -> tuple[str, str]:
    verdict = check_litmus(parse_litmus(text, "t.litmus"), axioms=axioms)
    return ("SAT" if verdict.positive else "UNSAT"), ("SAT" if verdict.negative else "UNSAT")


@settings(max_examples=max(1, GENERATED // 4), derandomize=True, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(st.one_of(_programs(), _shapes(), _locked_shapes()))
def test_generated_per_location_level_is_coherence_and_atomicity(text: str) -> None:
    level = _final_answers(text, sequential=False, axioms=PER_LOCATION)
    assert level == _evaluator_answers(text, "per-location"), text
    whole = _evaluator_answers(text)
    assert all(a == "SAT" for a, b in zip(level, whole) if b == "SAT"), text


def test_per_location_level_allows_message_passing_without_barriers() -> None:
    """MP with full barriers is Never under the LKMM, but its ordering is across two locations:
    the per-location level reaches the weak outcome, and keeps CoRR's, on one location, forbidden."""
    mp = ("C MP\n{}\nP0(int *x, int *y) { WRITE_ONCE(*x, 1); smp_mb(); WRITE_ONCE(*y, 1); }\n"
          "P1(int *x, int *y) { int r0; int r1; r0 = READ_ONCE(*y); smp_mb(); r1 = READ_ONCE(*x); }\n"
          "exists (1:r0=1 /\\ 1:r1=0)\n")
    corr = ("C CoRR\n{}\nP0(int *x) { WRITE_ONCE(*x, 1); }\n"
            "P1(int *x) { int r0; int r1; r0 = READ_ONCE(*x); r1 = READ_ONCE(*x); }\n"
            "exists (1:r0=1 /\\ 1:r1=0)\n")
    assert prove_litmus(parse_litmus(mp, "t.litmus")).verdict == "Never"
    assert _final_answers(mp, sequential=False, axioms=PER_LOCATION)[0] == "SAT"
    assert _final_answers(corr, sequential=False, axioms=PER_LOCATION)[0] == "UNSAT"


# ---- the marked level is coherence, atomicity, happens-before, propagation and a part of ----
# plain-coherence (NOTE(marked-level) in prove/lkmm_clocks.py, NOTE(marked-plain) in
# prove/lkmm_plain.py). The clock and flag statement must reach exactly what the independent
# evaluator allows under those axioms ("marked"), on generated programs and on the kernel's
# litmus tests the DSL can say; and, being weaker than the LKMM, whatever the evaluator allows
# under the whole .cat.
@settings(max_examples=max(1, GENERATED // 4), derandomize=True, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(st.one_of(_programs(), _shapes(), _locked_shapes()))
def test_generated_marked_level_is_its_axioms(text: str) -> None:
    # the flags held back until violated (NOTE(held-groups)), as on a design's default scenario;
    # the classic shapes and the kernel's tests below give them to the solver at once
    level = _final_answers(text, sequential=False, axioms=MARKED, hold=True)
    assert level == _evaluator_answers(text, "marked"), text
    whole = _evaluator_answers(text)
    assert all(a == "SAT" for a, b in zip(level, whole) if b == "SAT"), text


def test_marked_level_states_plain_coherence_through_a_lock() -> None:
    """MP+lock+plain's weak outcome satisfies the four axioms on marked accesses (the plain
    accesses end no hb edge) and breaks plain-coherence: the marked level forbids it, as its part
    of that axiom must."""
    body, _ = CLASSIC["MP+lock+plain"]
    text = f"C MP+lock+plain\n{{}}\n{body}\n"
    assert _final_answers(text, sequential=False, axioms=MARKED)[0] == "UNSAT"
    assert _final_answers(text, sequential=False, axioms=PER_LOCATION)[0] == "SAT"
    # held back (NOTE(held-groups)), the family that forbids it is added once an assignment
    # violates it; never given to the solver, the outcome is reached
    assert _final_answers(text, sequential=False, axioms=MARKED, hold=True)[0] == "UNSAT"
    assert _final_answers(text, sequential=False, axioms=MARKED, hold=True, give_held=False)[0] == "SAT"


@pytest.mark.parametrize("name", sorted(CLASSIC))
def test_classic_shapes_marked_level_agrees(name: str) -> None:
    body, _ = CLASSIC[name]
    text = f"C {name}\n{{}}\n{body}\n"
    assert _final_answers(text, sequential=False, axioms=MARKED) == _evaluator_answers(text, "marked")


@pytest.mark.skipif(not LKMM.is_dir(), reason="../shared/lkmm/litmus is not beside this checkout")
@pytest.mark.parametrize("path", [p for p in _kernel_tests() if Path(p).name not in REFUSED])
def test_kernel_litmus_marked_level_agrees(path: str) -> None:
    text = (LKMM / path).read_text()
    assert _final_answers(text, sequential=False, axioms=MARKED) == _evaluator_answers(text, "marked"), path
