"""`objcg-prove mutate`: which mutants each operator makes, that each is a valid model, that a
known-bad mutant is killed and a known-equivalent one survives, exit statuses, --json, and one
limited run on models/objcg_v5.dsl."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

import array_models
import atomic_models
import final_models
from conftest import column_of, line_of
from objcg_proof.lang import syntax as s
from objcg_proof.lang.diagnostics import SourceCache
from objcg_proof.lang.parser import load_model
from objcg_proof.lang.resolve import resolve
from objcg_proof.prove.unroll import unroll
from objcg_proof.prove.verify import VerifyOptions
from objcg_proof.study.mutate import (INVALID, KILLED, OPERATORS, SURVIVED, Mutant, expr_text, generate, outcomes,
                                run_mutant, statuses, stmt_text, verify_module)

ROOT = Path(__file__).resolve().parents[2]


def mutants_of(models, text: str, *operators: str, all_files: bool = False, name: str = "m.dsl") -> list[Mutant]:
    path = models.write(text, name)
    sources = SourceCache()
    return generate(load_model(path, sources), sources, operators or OPERATORS, all_files)


def table(mutants: list[Mutant]) -> list[tuple[str, int, str]]:
    return [(m.operator, m.span.line, m.mutated) for m in mutants]


def assert_valid(mutants: list[Mutant]) -> None:
    """Every mutant is a model the resolver and the unroller accept."""
    for m in mutants:
        unroll(resolve(m.module))


# ---- the operators, one by one ----------------------------------------------------------------

REFS = """
refcounted struct obj { word x; };
object struct obj o, q;
shared word a = 0;

proc void use(struct obj *p) {
    get(p);                          // obj_get(p)
    word v = READ_ONCE(a);
    put(p);                          // obj_put(p)
}

thread T {
    assume(READ_ONCE(a) == 0);
    use(&o);
    if (tryget(&q))
        put(&q);
    while (!tryget_live(&o)) { }
    tryget(&q);
    kill(&o);
}
"""


def test_drop_put_and_kill(models):
    got = table(mutants_of(models, REFS, "drop-put"))
    assert got == [("drop-put", line_of(REFS, "put(p);"), "(deleted)"),
                   ("drop-put", line_of(REFS, "put(&q);"), "(deleted)"),
                   ("drop-put", line_of(REFS, "kill(&o);"), "(deleted)")]


def test_drop_get_deletes_get_and_makes_tryget_take_no_reference(models):
    ms = mutants_of(models, REFS, "drop-get")
    assert table(ms) == [
        ("drop-get", line_of(REFS, "get(p);"), "(deleted)"),
        # in a condition: succeed exactly when tryget would, without taking the reference
        ("drop-get", line_of(REFS, "if (tryget(&q))"), "if (refcount(&q) != 0) ..."),
        ("drop-get", line_of(REFS, "tryget_live(&o)"), "while (!(refcount(&o) != 0)) ..."),
        ("drop-get", line_of(REFS, "tryget(&q);"), "(deleted)"),
    ]
    assert ms[0].original == "get(p);"
    assert ms[1].original == "if (tryget(&q))"
    assert_valid(ms)


def test_drop_assume(models):
    ms = mutants_of(models, REFS, "drop-assume")
    assert table(ms) == [("drop-assume", line_of(REFS, "assume("), "(deleted)")]
    assert ms[0].original == "assume(READ_ONCE(a) == 0);"
    assert_valid(ms)


WAITS = """
shared word ready = 0;
shared word data = 0;
ghost word rounds = 0;
thread P { data = 1; ready = 1; }
thread C {
    while (!ready)                   // a spin loop: the wait is dropped
        ;
    word d = data;
    assert(d == 1, "sees_data");
    while (READ_ONCE(ready) == 0) {  // writes a ghost: not a spin loop, not dropped
        rounds++;
    }
    for (word i = 0; i < 2; i++) {   // carries i: not a spin loop
        word e = data;
    }
}
"""


def test_drop_wait_deletes_only_spin_loops(models):
    # docs/semantics.md, "Spin loops": the resolver's rule decides which loops are waits
    ms = mutants_of(models, WAITS, "drop-wait")
    assert table(ms) == [("drop-wait", line_of(WAITS, "while (!ready)"), "(deleted)")]
    assert ms[0].original == "while (!ready) ..."
    assert_valid(ms)
    # without the wait, C may read data before P wrote it: the mutant is killed
    sources = SourceCache()
    original = statuses(verify_module(load_model(models.write(WAITS), sources), sources, VerifyOptions()))
    mutant = statuses(verify_module(ms[0].module, sources, VerifyOptions()))
    assert (original["sees_data"], mutant["sees_data"]) == ("proved", "violated")


def test_a_dropped_statement_is_gone_from_the_module(models):
    [m] = mutants_of(models, REFS, "drop-assume")
    thread = [d for d in m.module.decls if isinstance(d, s.ThreadDecl)][0]
    assert isinstance(thread.body.body[0], s.Empty)
    original = load_model(models.write(REFS), SourceCache())
    assert m.module != original
    assert [d for d in m.module.decls if not isinstance(d, s.ThreadDecl)] == \
           [d for d in original.decls if not isinstance(d, s.ThreadDecl)]


ATOMICS = """
refcounted struct obj { word x; };
struct box { struct obj *p; word bits; };
object struct obj o;
object struct box bx = { .p = &o };
shared word a = 0, b = 0;
shared struct obj *slot = &o;

thread T {
    word old = xchg(&a, 1);
    old = xchg(&a, old + 1);
    struct obj *p = xchg(&slot, NULL);
    if (p) put(p);
    word seen = cmpxchg(&a, 1, 2);
    if (cmpxchg(&b, 0, 1) == 0)
        set_bit(1, &bx.bits);
    clear_bit(1, &bx.bits);
    word e = READ_ONCE(b);
    do {
        e = e + 0;
    } while (!try_cmpxchg(&b, &e, e + 1));
    word bit = test_and_set_bit(0, &bx.bits);
    atomic_inc(&a);
    while (xchg(&a, 0) != 0) { }
    xchg(&b, 0);
    atomic { word z = xchg(&b, 2); }
    word t = 1;
    if (t && xchg(&b, 1)) { }
    do {
        if (t) continue;
    } while (!try_cmpxchg(&b, &e, 1));
    kill(&o);
}
"""


def test_non_atomic_turns_each_rmw_into_a_read_and_a_write(models):
    ms = mutants_of(models, ATOMICS, "non-atomic")
    expected = [
        ("word old = xchg", "word old = a; a = 1;"),
        # the target is read by the new value: through a temporary
        ("old = xchg(&a, old + 1)", "word mut_v = a; a = old + 1; old = mut_v;"),
        ("xchg(&slot, NULL)", "struct obj *p = slot; slot = NULL;"),
        ("cmpxchg(&a, 1, 2)", "word seen = a; if (seen == 1) a = 2;"),
        ("cmpxchg(&b, 0, 1)", "word mut_v = b; if (mut_v == 0) b = 1; if (mut_v == 0) ..."),
        ("set_bit(1", "word mut_v = bx.bits; bx.bits = mut_v | (1 << 1);"),
        ("clear_bit(1", "word mut_v = bx.bits; bx.bits = mut_v & ~(1 << 1);"),
        # on failure `e` gets the value read, as with the atomic
        ("try_cmpxchg(&b, &e, e + 1)",
         "word mut_ok; do { ... mut_ok = e; e = b; mut_ok = e == mut_ok; if (mut_ok) b = e + 1; } while (!mut_ok);"),
        ("test_and_set_bit", "word mut_v = bx.bits; bx.bits = mut_v | (1 << 0); word bit = (mut_v >> 0) & 1;"),
        ("atomic_inc", "word mut_v = a; a = mut_v + 1;"),
        ("while (xchg", "word mut_v; mut_v = a; a = 0; while (mut_v != 0) { ... mut_v = a; a = 0; }"),
    ]
    assert table(ms) == [("non-atomic", line_of(ATOMICS, needle), text) for needle, text in expected]
    assert ms[0].original == "word old = xchg(&a, 1);"
    assert ms[7].original == "} while (!try_cmpxchg(&b, &e, e + 1));"
    assert_valid(ms)


ATOMIC_T = """
shared word n = 0, f = 3;
ghost word g = 1;

thread T {
    word a = atomic_fetch_add(2, &n);
    word r = atomic_add_return(3, &n);
    word d = atomic_dec_return(&n);
    atomic_andnot(1, &f);
    word o = atomic_fetch_andnot(2, &f);
    word x = atomic_xchg(&n, 1);
    if (atomic_cmpxchg(&n, 1, 2) == 1)
        atomic_or(4, &f);
    word e = 0;
    do { } while (!atomic_try_cmpxchg(&n, &e, e + 1));
    atomic_xchg(&n, 0);
    word r2 = atomic_sub_return(g, &n);
}
"""


def test_non_atomic_knows_the_atomic_t_operations(models):
    ms = mutants_of(models, ATOMIC_T, "non-atomic")
    expected = [
        ("atomic_fetch_add", "word mut_v = n; n = mut_v + 2; word a = mut_v;"),
        ("atomic_add_return", "word mut_v = n; n = mut_v + 3; word r = mut_v + 3;"),
        ("atomic_dec_return", "word mut_v = n; n = mut_v - 1; word d = mut_v - 1;"),
        ("atomic_andnot(1", "word mut_v = f; f = mut_v & ~1;"),
        ("atomic_fetch_andnot", "word mut_v = f; f = mut_v & ~2; word o = mut_v;"),
        ("atomic_xchg(&n, 1)", "word x = n; n = 1;"),
        ("atomic_cmpxchg", "word mut_v = n; if (mut_v == 1) n = 2; if (mut_v == 1) ..."),
        ("atomic_or", "word mut_v = f; f = mut_v | 4;"),
        ("atomic_try_cmpxchg",
         "word mut_ok; do { ... mut_ok = e; e = n; mut_ok = e == mut_ok; if (mut_ok) n = e + 1; } while (!mut_ok);"),
        # a discarded atomic_xchg is a store either way; the value of atomic_sub_return would
        # read the ghost g a second time, after another thread may have changed it: neither is mutated
    ]
    assert table(ms) == [("non-atomic", line_of(ATOMIC_T, needle), text) for needle, text in expected]
    assert_valid(ms)


def test_non_atomic_is_not_applied_where_it_changes_nothing_or_has_no_place(models):
    lines = {m.span.line for m in mutants_of(models, ATOMICS, "non-atomic")}
    for needle in ("xchg(&b, 0);",               # a discarded xchg is a store either way
                   "atomic { word z",            # one step either way
                   "t && xchg",                  # evaluated only when t holds
                   "try_cmpxchg(&b, &e, 1)"):    # the body's continue would skip the read
        assert line_of(ATOMICS, needle) not in lines, needle


def test_non_atomic_mutant_has_two_steps_where_the_original_has_one(models):
    text = """
    shared word a = 0;
    thread T { word old = xchg(&a, 1); }
    """
    path = models.write(text)
    sources = SourceCache()
    module = load_model(path, sources)
    [m] = generate(module, sources, ("non-atomic",))
    assert len(unroll(resolve(module)).steps) == 1
    assert len(unroll(resolve(m.module)).steps) == 2


SWAPS = """
shared word x = 0, y = 0, z = 0;
ghost word g = 0;

proc void w(void) {
    WRITE_ONCE(x, 1);
}

thread A {
    WRITE_ONCE(x, 1);
    WRITE_ONCE(y, 2);
    word r = READ_ONCE(z);
    WRITE_ONCE(y, r);
    g = 1;
    w();
    WRITE_ONCE(z, 3);
    assert(READ_ONCE(x) == 1);
    atomic {
        WRITE_ONCE(x, 1);
        WRITE_ONCE(y, 1);
    }
    if (READ_ONCE(z)) return;
    WRITE_ONCE(z, 1);
}
"""


def test_swap_pairs_of_independent_shared_accesses(models):
    ms = mutants_of(models, SWAPS, "swap")
    assert [(m.span.line, m.original, m.mutated) for m in ms] == [
        (line_of(SWAPS, "WRITE_ONCE(y, 2)") - 1, "WRITE_ONCE(x, 1); WRITE_ONCE(y, 2);", "WRITE_ONCE(y, 2); WRITE_ONCE(x, 1);"),
        (line_of(SWAPS, "WRITE_ONCE(y, 2)"), "WRITE_ONCE(y, 2); word r = READ_ONCE(z);",
         "word r = READ_ONCE(z); WRITE_ONCE(y, 2);"),
        (line_of(SWAPS, "w();"), "w(); WRITE_ONCE(z, 3);", "WRITE_ONCE(z, 3); w();"),
    ]
    # not swapped: r flows from one to the other; the ghost write makes no shared access; the
    # assert is a property; inside atomic { } it is one step; the `if` returns
    assert_valid(ms)


def test_swap_exchanges_the_statements(models):
    ms = mutants_of(models, SWAPS, "swap")
    thread = [d for d in ms[0].module.decls if isinstance(d, s.ThreadDecl)][0]
    assert [stmt_text(x) for x in thread.body.body[:2]] == ["WRITE_ONCE(y, 2);", "WRITE_ONCE(x, 1);"]


def test_only_the_model_file_is_mutated_unless_all_files(models):
    models.write("""
    refcounted struct obj { word x; };
    object struct obj o;
    proc void release(void) {
        put(&o);
    }
    """, "lib/harness.dsl")
    text = """
    include "lib/harness.dsl";
    thread T {
        get(&o);
        release();
        kill(&o);
    }
    """
    design = mutants_of(models, text)
    assert {m.span.file for m in design} == {"m.dsl"}
    assert ("drop-put", line_of(text, "kill(&o);"), "(deleted)") in table(design)
    everything = mutants_of(models, text, all_files=True)
    assert ("lib/harness.dsl", 4) in {(m.span.file, m.span.line) for m in everything}


def test_printer_round_trips_precedence():
    e = s.Binary("*", s.Binary("+", s.Name("a"), s.Num(1)), s.Unary("-", s.Name("b")))
    assert expr_text(e) == "(a + 1) * -b"
    cast = s.Cast(s.TypeRef("obj", True), s.Binary("&", s.Name("p"), s.Unary("~", s.Name("F"))))
    assert expr_text(cast) == "(struct obj *)(p & ~F)"
    assert expr_text(s.Ternary(s.Name("c"), s.Num(0x100), s.Null())) == "c ? 0x100 : NULL"
    pp = s.Cast(s.TypeRef("obj", True, indirect=True), s.Name("q"))
    assert expr_text(s.ArrowAccess(s.Deref(pp), "f")) == "(*(struct obj **)q)->f"
    local = s.LocalDecl((s.Declarator("seen", s.TypeRef(None, False), (s.Num(1), s.Num(2)), size=s.Num(3)),
                         s.Declarator("k", s.TypeRef(None, False), s.Num(0))))
    assert stmt_text(local) == "word seen[3] = { 1, 2 }, k = 0;"
    pointers = s.LocalDecl((s.Declarator("pp", s.TypeRef("obj", True, indirect=True), s.Null()),))
    assert stmt_text(pointers) == "struct obj **pp = NULL;"


# ---- verdicts: killed, survived, invalid -------------------------------------------------------

MUTEX = """
shared word lock = 0;
ghost word in_cs = 0;

proc void enter(void) {
    word old = xchg(&lock, 1);        // test-and-set
    if (old == 0) {
        in_cs++;
        assert(in_cs == 1, "mutex");
        in_cs--;
        WRITE_ONCE(lock, 0);
    }
}

thread A { enter(); }
thread B { enter(); }
"""

# x and y are read only after `done`: the order of the two writes cannot be observed
UNORDERED = """
shared word x = 0, y = 0;
ghost word done = 0;

thread A {
    WRITE_ONCE(x, 1);
    WRITE_ONCE(y, 1);
    done = 1;
}

thread B {
    await(done == 1);
    word vx = x;
    assert(vx == 1, "x");
}
"""

# one mutant killed (the non-atomic test-and-set), one surviving (the unobservable swap)
# (declarations first: a `shared` after a thread does not parse at the time of writing)
BOTH = "\nshared word x = 0, y = 0;\nghost word done = 0;\n" + MUTEX + UNORDERED.split("ghost word done = 0;\n")[1] \
    .replace("thread A", "thread C").replace("thread B", "thread D")


def _verify_original(path: str):
    sources = SourceCache()
    module = load_model(path, sources)
    return module, sources, statuses(verify_module(module, sources, VerifyOptions(minimize=False)))


def test_a_non_atomic_test_and_set_is_killed(models):
    path = models.write(MUTEX)
    module, sources, original = _verify_original(path)
    assert original["mutex"] == "proved"
    [m] = generate(module, sources)
    assert m.operator == "non-atomic" and m.mutated == "word old = lock; lock = 1;"
    r = run_mutant(m, original, sources, VerifyOptions(minimize=False))
    assert r.outcome == KILLED
    assert [(c.property, c.original, c.mutant) for c in r.changes] == [("mutex", "proved", "violated")]  # not minimised: no length


def test_a_non_atomic_fetch_add_is_killed(models):
    text = dict((case, text) for case, text, _ in atomic_models.CASES)["fetch_add"]
    path = models.write(text)
    module, sources, original = _verify_original(path)
    ms = generate(module, sources, ("non-atomic",))
    assert [m.mutated for m in ms] == ["word mut_v = n; n = mut_v + 1; word t = mut_v;"] * 2
    r = run_mutant(ms[0], original, sources, VerifyOptions(minimize=False))
    assert r.outcome == KILLED
    assert [(c.property, c.original, c.mutant) for c in r.changes] == [
        ("distinct_tickets", "proved", "violated"), ("no_lost_update", "proved", "violated")]


def test_drop_holds_deletes_a_holds_of_the_final_block_and_is_killed_by_leak(models):
    text = final_models.TWO.replace("HOLDS", 'holds(t1.cache);\n    holds(t2.cache);\n    assert(ready == 2, "both");')
    path = models.write(text)
    module, sources, original = _verify_original(path)
    assert original["leak"] == "proved"
    ms = generate(module, sources)
    drops = [m for m in ms if m.operator == "drop-holds"]
    assert table(drops) == [("drop-holds", line_of(text, "holds(t1"), "(deleted)"),
                            ("drop-holds", line_of(text, "holds(t2"), "(deleted)")]
    assert drops[0].original == "holds(t1.cache);"
    # the final block is only dropped from: no other operator touches its statements
    assert all(m.span.line < line_of(text, "final {") for m in ms if m.operator != "drop-holds")
    assert_valid(drops)
    r = run_mutant(drops[0], original, sources, VerifyOptions(minimize=False))
    assert r.outcome == KILLED
    assert [(c.property, c.original, c.mutant) for c in r.changes] == [("leak", "proved", "violated")]


def test_drop_holds_only_in_the_model_file(models):
    # a final block in an included file (a harness) is not mutated unless asked
    models.write("final { holds(t1.cache); }\n", "end.dsl")
    text = final_models.CACHE.replace("STORE", "&o1").split("final {")[0] + 'include "end.dsl";\n'
    assert mutants_of(models, text, "drop-holds") == []
    assert table(mutants_of(models, text, "drop-holds", all_files=True)) == [("drop-holds", 1, "(deleted)")]


def test_an_unobservable_reordering_survives(models):
    path = models.write(UNORDERED)
    module, sources, original = _verify_original(path)
    [m] = generate(module, sources)
    assert m.operator == "swap" and m.mutated == "WRITE_ONCE(y, 1); WRITE_ONCE(x, 1);"
    r = run_mutant(m, original, sources, VerifyOptions(minimize=False))
    assert r.outcome == SURVIVED and r.changes == ()


def test_a_mutant_that_does_not_resolve_is_invalid(models):
    path = models.write(UNORDERED)
    module, sources, original = _verify_original(path)
    broken = replace(module, decls=tuple(d for d in module.decls if not isinstance(d, s.SharedDecl)))
    r = run_mutant(Mutant("swap", s.Num(0).span, "", "", broken), original, sources, VerifyOptions())
    assert r.outcome == INVALID and "unknown name" in r.error


INDICES = """
const N = 2;
struct mem_cgroup { word counts[3]; word slots[N]; };
object struct mem_cgroup m, ms[2];
shared word flags[4] = 0;
thread T {
    word i = 1;
    word seen[2] = {0, 0};
    seen[i] = flags[2];
    word a = m.counts[1];
    word b = m.counts[2];
    word c = m.counts[i];
    word d = ms[i].slots[0];
    atomic_inc(&flags[i]);
}
"""


def test_index_takes_the_neighbouring_element_where_it_stays_in_bounds(models):
    ms = mutants_of(models, INDICES, "index")
    assert table(ms) == [
        ("index", line_of(INDICES, "seen[i] = flags[2]"), "seen[i ^ 1] = flags[2];"),
        ("index", line_of(INDICES, "seen[i] = flags[2]"), "seen[i] = flags[3];"),
        ("index", line_of(INDICES, "m.counts[1]"), "word a = m.counts[0];"),
        # m.counts[2] ^ 1 is 3, out of bounds; counts[i] with 3 elements may leave them
        ("index", line_of(INDICES, "ms[i].slots[0]"), "word d = ms[i ^ 1].slots[0];"),
        ("index", line_of(INDICES, "ms[i].slots[0]"), "word d = ms[i].slots[1];"),
        ("index", line_of(INDICES, "atomic_inc"), "atomic_inc(&flags[i ^ 1]);"),
    ]
    assert ms[0].original == "seen[i] = flags[2];" and ms[0].span.column == column_of(INDICES, "i] = flags")
    assert_valid(ms)


def test_the_other_node_is_killed(models):
    text = dict((case, text) for case, text, _ in array_models.CASES)["node-1-by-pointer"]
    path = models.write(text)
    module, sources, original = _verify_original(path)
    ms = generate(module, sources, ("index",))
    assert [m.mutated for m in ms] == ["struct obj_cgroup **pp = &memcg_A.objcgs[1];",
                                       "struct obj_cgroup **pp = &memcg_A.objcgs[nid ^ 1];"]
    for m in ms:
        r = run_mutant(m, original, sources, VerifyOptions(minimize=False))
        assert r.outcome == KILLED
        assert [(c.property, c.original, c.mutant) for c in r.changes] == [("not_null", "proved", "violated")]


def test_a_non_atomic_xchg_through_a_pointer_to_a_pointer(models):
    text = """
        struct obj_cgroup { word id; };
        struct mem_cgroup { struct obj_cgroup *objcgs[2]; };
        object struct obj_cgroup objcg_A;
        object struct mem_cgroup memcg = { .objcgs = { &objcg_A, &objcg_A } };
        ghost word taken = 0;
        thread A { struct obj_cgroup **pp = &memcg.objcgs[0];
                   struct obj_cgroup *o = xchg(pp, NULL); if (o != NULL) taken = taken + 1; }
        thread B { struct obj_cgroup **pp = &memcg.objcgs[0];
                   struct obj_cgroup *o = xchg(pp, NULL); if (o != NULL) taken = taken + 1;
                   assert(taken < 2, "once"); }
    """
    path = models.write(text)
    module, sources, original = _verify_original(path)
    assert original["once"] == "proved"
    ms = generate(module, sources, ("non-atomic",))
    assert [m.mutated for m in ms] == ["struct obj_cgroup *o = *pp; *pp = NULL;"] * 2
    r = run_mutant(ms[1], original, sources, VerifyOptions(minimize=False))
    assert r.outcome == KILLED and [(c.property, c.mutant) for c in r.changes] == [("once", "violated")]


# ---- the command line --------------------------------------------------------------------------


def test_exit_0_when_every_mutant_is_killed(models):
    run = models.cli("mutate", models.write(MUTEX))
    assert run.rc == 0, run.err
    lines = run.out.splitlines()
    assert lines[-1] == "1 mutants, 1 killed, 0 survived, 0 invalid: score 100.0%"
    [row] = [ln for ln in lines if "KILLED" in ln]
    assert f"non-atomic   m.dsl:{line_of(MUTEX, 'xchg')}  word old = xchg(&lock, 1);  =>  word old = lock; lock = 1;" in row
    assert "[mutex: proved -> violated]" in row


def test_exit_1_when_a_mutant_survives(models):
    run = models.cli("mutate", models.write(UNORDERED))
    assert run.rc == 1, run.err
    assert "SURVIVED" in run.out
    assert run.out.splitlines()[-1] == ("1 mutants, 0 killed, 1 survived, 0 invalid: score 0.0%; 1 of the 1 "
                                        "survivors end exactly as the original: n/a of the other mutants killed")


def test_invalid_mutants_are_reported_and_not_counted(models):
    # two structs have a field `f` of different types, so the temporary of the non-atomic xchg
    # is a word, and `->` rejects it
    text = """
    struct obj { const word x; };
    struct holder { struct obj *f; };
    struct other { word f; };
    object struct obj o;
    object struct holder h = { .f = &o };
    thread T {
        struct holder *p = &h;
        word v = xchg(&p->f, NULL)->x;
    }
    """
    run = models.cli("mutate", models.write(text), "--only", "non-atomic")
    assert run.rc == 0, run.err
    assert "INVALID" in run.out and "[invalid: m.dsl:" in run.out
    assert run.out.splitlines()[-1] == "1 mutants, 0 killed, 0 survived, 1 invalid: score n/a"


def test_json_report(models):
    run = models.cli("mutate", models.write(BOTH), "--json")
    assert run.rc == 1, run.err
    report = json.loads(run.out)
    assert report["model"] == "m.dsl" and report["original"]["statuses"]["mutex"] == "proved"
    assert [(m["operator"], m["outcome"]) for m in report["mutants"]] == [("non-atomic", "killed"), ("swap", "survived")]
    first = report["mutants"][0]
    assert first["changes"] == [{"property": "mutex", "original": "proved", "mutant": "violated"}]
    assert first["file"] == "m.dsl" and first["line"] == line_of(BOTH, "xchg")
    assert set(first) >= {"index", "operator", "file", "line", "original", "mutated", "outcome", "changes", "error", "time_s"}
    summary = report["summary"]
    assert (summary["mutants"], summary["killed"], summary["survived"], summary["invalid"], summary["score"]) == (2, 1, 1, 0, 50.0)
    assert (summary["equivalent"], summary["score_non_equivalent"]) == (1, 100.0)
    swap = report["mutants"][1]
    assert swap["equivalent"] is True and swap["evidence"].startswith("ends as the original: the same")


def test_only_and_limit(models):
    path = models.write(BOTH)
    run = models.cli("mutate", path, "--only", "swap")
    assert run.rc == 1 and run.out.splitlines()[-1].startswith("1 mutants, 0 killed, 1 survived")
    run = models.cli("mutate", path, "--limit", "1")
    assert run.rc == 0 and run.out.splitlines()[-1].startswith("1 mutants, 1 killed")
    run = models.cli("mutate", path, "--limit", "0")
    assert run.rc == 0 and run.out.splitlines()[-1] == "0 mutants, 0 killed, 0 survived, 0 invalid: score n/a"


@pytest.mark.parametrize("argv, phrase", [
    (["--only", "nope"], "--only nope: unknown operator"),
    (["--limit", "-1"], "--limit -1"),
    (["--bound", "0"], "--bound 0"),
    (["-D", "X"], "expected NAME=VALUE"),
])
def test_exit_2_on_usage_errors(models, argv, phrase):
    run = models.cli("mutate", models.write(MUTEX), *argv)
    assert run.rc == 2
    assert phrase in run.err and "usage: objcg-prove mutate" in run.err
    assert run.out == ""


def test_exit_2_on_a_bad_model(models):
    run = models.cli("mutate", models.write("thread T { word v = nope; }\n"))
    assert run.rc == 2
    assert "m.dsl:1:21: error: unknown name 'nope'" in run.err
    assert "Traceback" not in run.err
    run = models.cli("mutate", "missing.dsl")
    assert run.rc == 2 and "cannot open 'missing.dsl'" in run.err
    run = models.cli("mutate", models.write(MUTEX), "-D", "NOPE=1")
    assert run.rc == 2 and "NOPE" in run.err


def test_help_prints_the_operators(models):
    run = models.cli("mutate", "--help")
    assert run.rc == 0
    for op in OPERATORS:
        assert op in run.out


# ---- the objcg model ---------------------------------------------------------------------------

NARROW = ("-D", "MIGRATIONS=1", "-D", "ALLOCS=2", "-D", "KALLOCS=1", "-D", "EXIT_ALLOCS=0", "-D", "LATE_FREES=0",
          "-D", "EARLY_OFFLINE=0")   # the params of tests/narrow/*.dsl


def test_objcg_v5_first_put_dropped_is_killed_by_leak(models, monkeypatch):
    monkeypatch.chdir(ROOT)
    model = "models/objcg_v5.dsl"
    # on the narrow setting of the scenario (tests/narrow/), so that the run takes seconds
    run = models.cli("mutate", model, "--only", "drop-put", "--limit", "1", "--json", *NARROW)
    assert run.rc == 0, run.err
    report = run.json()
    assert report["original"]["statuses"] == {"leak": "proved", "uaf": "proved", "deadlock": "proved",
                                              "lost_update": "proved", "kthread_charged": "proved"}
    [m] = report["mutants"]
    first_put = next(i for i, line in enumerate((ROOT / model).read_text().splitlines(), 1) if "put(old);" in line)
    assert (m["file"], m["line"], m["original"], m["mutated"]) == (model, first_put, "put(old);", "(deleted)")
    assert m["outcome"] == "killed"
    assert {"property": "leak", "original": "proved", "mutant": "violated"} in m["changes"]


# ---- survivors: equivalent or not; violations that come sooner ----------------------------------

# Message passing without a barrier: swapping A's two writes lets B see y == 1 and x == 0, which
# shows in the final value of z, but no property looks at z: the survivor is not equivalent, and
# the evidence names z.
UNCHECKED = """
shared word x = 0, y = 0, z = 0;
thread A {
    WRITE_ONCE(x, 1);
    WRITE_ONCE(y, 1);
}
thread B {
    word vy = READ_ONCE(y);
    word vx = READ_ONCE(x);
    if (vy == 1 && vx == 0)
        WRITE_ONCE(z, 1);
}
"""


def test_a_survivor_that_ends_differently_is_told_apart(models):
    path = models.write(UNCHECKED)
    module, sources, original = _verify_original(path)
    [m] = [m for m in generate(module, sources, ("swap",)) if m.span.line == line_of(UNCHECKED, "WRITE_ONCE(x, 1)")]
    r = run_mutant(m, original, sources, VerifyOptions(minimize=False), outcomes(resolve(module)))
    assert r.outcome == SURVIVED and r.equivalent is False
    assert r.evidence == "ends differently: z ends as {0} in the original, {0, 1} in the mutant"


def test_a_survivor_that_ends_as_the_original_is_said_to(models):
    path = models.write(UNORDERED)
    module, sources, original = _verify_original(path)
    [m] = generate(module, sources)
    r = run_mutant(m, original, sources, VerifyOptions(minimize=False), outcomes(resolve(module)))
    assert r.outcome == SURVIVED and r.equivalent is True
