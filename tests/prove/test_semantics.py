"""DSL semantics: small models whose verdicts follow from the language's meaning.

Each model's expected statuses were worked out from the semantics (sequential consistency,
percpu_ref counting, the bound rule), not read off the tool. Single-thread models end with a
deliberately false `reached` assertion: it must be violated, which shows the checks before it
are reached (a vacuous `proved` would otherwise pass unnoticed).
"""

from __future__ import annotations

from pathlib import Path

import pytest

import array_models
import atomic_models
import spin_models
from conftest import changes, dedent, expect, last_step, line_of, prop

# ---- constants, params, -D -----------------------------------------------------------------

PARAMS = """
const A = 3;
param N = 2;
shared word x = 0;
thread T {
  x = A + N;
  word v = x;
  assert(v == 5, "sum");
  for (word i = 0; i < N; i++)
    atomic_inc(&x);
  word w = x;
  assert(w == A + N + N, "loop");
  assert(w == 0, "reached");
}
"""


def test_const_and_param_defaults(models):
    r = models.verify(PARAMS)
    expect(r, sum="proved", loop="proved", reached="violated")
    assert r.bound == 2


def test_define_overrides_param(models):
    # N = 4: x = 7, then 4 increments (a constant trip count: unrolled exactly even at bound 1)
    r = models.verify(PARAMS, defines={"N": 4}, bound=1)
    expect(r, sum="violated", loop="proved", reached="violated")
    assert "v = 7" in changes(r, "sum")
    assert "w = 11" in changes(r, "reached")


def test_define_through_the_cli(models):
    run = models.run(PARAMS, "-D", "N=0x3", "--json")
    assert run.rc == 1
    got = {row["property"]: row["status"] for row in run.json()["results"]}
    assert got == {"uaf": "proved", "deadlock": "proved", "sum": "violated",
                   "loop": "proved", "reached": "violated"}


# ---- words: arithmetic, bit operations, comparisons, logic ---------------------------------

ARITH = """
shared word a = 0xF0F0;
thread T {
  word v = a;
  assert((v & 0xFF) == 0xF0, "and");
  assert((v | 0x0F0F) == 0xFFFF, "or");
  assert((v ^ 0xFFFF) == 0x0F0F, "xor");
  assert(~v == 0x0F0F, "not");
  assert((v << 4) == 0x0F00, "shl");
  assert((v >> 4) == 0x0F0F, "shr");
  assert(v + 0x1000 == 0x00F0, "add_wraps");
  assert(v - 0xF0F1 == 0xFFFF, "sub_wraps");
  assert(v * 2 == 0xE1E0, "mul_wraps");
  assert(v / 16 == 0x0F0F, "div");
  assert(v % 7 == 3, "mod");
  assert(v > 0x8000 && v > 0x100 && 0x100 < v && v >= 0x100 && 0x100 <= v, "unsigned");
  assert(-v == 0x0F10, "neg");
  assert(!v == 0, "lnot");
  assert((v == 0xF0F0) + (v != 0) + (v >= 0xF0F0) + (v <= 0xF0F0) + (v < 0xF0F1) == 5, "cmp");
  assert((v && 0) == 0 && (v || 0) == 1, "logic");
  atomic { a += 1; a <<= 1; a ^= 3; a -= 1; a++; a |= 0x10; a &= 0xFFF0; a >>= 1; }
  word w = a;
  assert(w == 0x70F8, "compound");
  assert(v == 0, "reached");
}
"""


def test_word_arithmetic_and_bit_operations(models):
    # default width 16: 0xF0F0 << 4 drops the top nibble, + and * wrap, >> is logical, < unsigned
    r = models.verify(ARITH)
    names = ["and", "or", "xor", "not", "shl", "shr", "add_wraps", "sub_wraps", "mul_wraps", "div", "mod",
             "unsigned", "neg", "lnot", "cmp", "logic", "compound"]
    expect(r, **{n: "proved" for n in names}, reached="violated")


def test_wrong_arithmetic_is_caught(models):
    r = models.verify("""
        shared word a = 0xF0F0;
        thread T {
          word v = a;
          assert((v >> 4) == 0xFF0F, "shr_arith");      // >> is logical, not arithmetic
          assert(v < 0x100, "signed_lt");               // comparisons are unsigned
          assert(0x100 > v, "signed_gt");
          assert(v % 7 == 4, "mod");                    // 0xF0F0 % 7 == 3
        }
    """)
    expect(r, shr_arith="violated", signed_lt="violated", signed_gt="violated",
           mod="violated")


def test_constant_folding(models):
    # operators on constants are folded by the resolver (declarations) and the unroller (locals)
    r = models.verify("""
        const C = (0x80 >> 3) | (1 << 2);              // 0x14
        shared word x = C + (0x7 % 4) * (10 / 3);      // 0x14 + 9
        thread T {
          word k = 0x80;
          word m = (k >> 3) + (k << 1) + (k ^ 0x81) + (~k & 0xF) + (k / 5) + (k % 5);
          word v = x;
          x = m;
          word w = x;
          assert(v == 0x1D, "declarations");
          assert(w == 0x10 + 0x100 + 1 + 0xF + 25 + 3, "locals");
          assert(w == 0, "reached");
        }
    """)
    expect(r, declarations="proved", locals="proved", reached="violated")


def test_width_declaration(models):
    r = models.verify("""
        width 8;
        shared word x = 255;
        thread T {
          word v = x;
          x = v + 1;
          word w = x;
          assert(w == 0, "wraps_at_8_bits");
          assert(v == 255, "init");
          assert(w != 0, "reached");
        }
    """)
    expect(r, wraps_at_8_bits="proved", init="proved", reached="violated")


SHORT_CIRCUIT = """
struct S { word f; const word k; };
object struct S o = { .f = 1, .k = 7 };
object struct S o2 = { .f = 2, .k = 8 };    // a second S: q->k is not the constant 7
shared struct S *p = NULL;
thread W { p = &o; }
thread T {
  struct S *q = p;
  word r = 0;
  if (q != NULL && q->f == 1)
    r = 1;
  assert(q == NULL || r == 1, "and_evaluates_right");
  word s = 0;
  if (q == NULL || q->f == 1)
    s = 1;
  assert(s == 1, "or_short");
  word t = q ? q->f : 5;
  assert(q ? t == 1 : t == 5, "ternary");
  word u = !q || q->k == 7;
  assert(u, "not_or");
}
"""


def test_short_circuit_guards_shared_access(models):
    # T may read p before or after W sets it: q is NULL or &o, and no NULL is ever dereferenced
    r = models.verify(SHORT_CIRCUIT)
    expect(r, and_evaluates_right="proved", or_short="proved", ternary="proved", not_or="proved")


def test_unguarded_access_is_a_uaf(models):
    text = """
        struct S { word f; };
        object struct S o = { .f = 1 };
        shared struct S *p = NULL;
        thread W { p = &o; }
        thread T {
          struct S *q = p;
          if (q->f == 1 && q != NULL) { }
        }
    """
    r = models.verify(text)
    expect(r, uaf="violated")
    step = last_step(r, "uaf")
    assert (step.thread, step.line) == ("T", line_of(text, "q->f == 1"))
    assert "q = NULL" in changes(r, "uaf")
    assert "NULL or invalid pointer dereferenced ('->f'" in prop(r, "uaf").trace.violation
    assert f"in thread T at m.dsl:{line_of(text, 'q->f == 1')}" in prop(r, "uaf").trace.violation


def test_division_by_zero_is_reported(models):
    r = models.verify("""
        shared word d = 0;
        thread T { word z = d; word q = 10 / z; }
    """)
    expect(r, uaf="violated")
    assert "division by zero" in prop(r, "uaf").trace.violation


# ---- NULL, pointers with tag bits --------------------------------------------------------------

TAGGED = """
const FLAG = 0x1;
struct obj { word x; };
object struct obj objcg_A = { .x = 5 };
shared struct obj *slot = &objcg_A | FLAG;
thread T {
  struct obj *v = slot;
  struct obj *p = (struct obj *)((unsigned long)v & ~FLAG);
  word x = p->x;
  assert(x == 5, "field");
  assert(((unsigned long)v & FLAG) == FLAG, "tagged");
  assert(v == &objcg_A, "untagged");
}
"""


def test_pointer_tag_bits(models):
    r = models.verify(TAGGED)
    expect(r, field="proved", tagged="proved", untagged="violated")
    steps = prop(r, "untagged").trace.steps
    first = steps[0]
    assert (first.thread, first.line) == ("T", line_of(TAGGED, "*v = slot"))
    assert first.changes == ("v = objcg_A|FLAG",)


def test_dereferencing_a_tagged_pointer_is_a_uaf(models):
    text = """
        const FLAG = 0x1;
        struct obj { word x; };
        object struct obj objcg_A = { .x = 5 };
        shared struct obj *slot = &objcg_A | FLAG;
        thread T {
          struct obj *v = slot;
          word x = v->x;
        }
    """
    r = models.verify(text)
    expect(r, uaf="violated")
    assert last_step(r, "uaf").line == line_of(text, "v->x")
    assert "v = objcg_A|FLAG" in changes(r, "uaf")


def test_null_pointer_values(models):
    r = models.verify("""
        struct obj { word x; };
        object struct obj objcg_A;
        shared struct obj *slot = &objcg_A;
        thread T {
          struct obj *old = xchg(&slot, NULL);
          struct obj *now = slot;
          assert(old == &objcg_A && now == NULL, "swapped");
          assert(now != NULL, "reached");
        }
    """)
    expect(r, swapped="proved", reached="violated")
    assert "slot: objcg_A -> NULL" in changes(r, "reached")
    assert "now = NULL" in changes(r, "reached")


def test_current_is_the_threads_task(models):
    text = """
        struct task { word f; };
        object struct task t1 = { .f = 7 }, t2 = { .f = 9 };
        shared struct task *owner = &t1;
        proc word my_f(void) {
          return current->f;
        }
        thread A (current = &t1) {
          word f = my_f();
          struct task *o = READ_ONCE(owner);
          assert(f == 7 && o == current, "a");
        }
        thread B (current = &t2) {
          word f = my_f();
          struct task *o = READ_ONCE(owner);
          assert(f == 9 && o != current, "b");
          assert(f == 7, "reached");
        }
    """
    r = models.verify(text)
    expect(r, a="proved", b="proved", reached="violated")


# ---- records, object arrays, shared arrays, const fields, ghosts -------------------------------

RECORDS = """
struct S { word f; const word id; };
object struct S objs[3] = { .f = 4, .id = 9 };
object struct S s1 = { .id = 1 }, s2 = { .f = 6, .id = 2 };
shared word a[3] = {10, 20, 30};
shared word b[2] = 7;
thread T {
  word i = nondet(3);
  objs[1].f = 1;
  word x = objs[i].f;
  assert(i != 1 || x == 1, "objarr_written");
  assert(i == 1 || x == 4, "objarr_init");
  struct S *p = &objs[i];
  word f = p->f;
  assert(f == x, "ptr_same_object");
  p->f = 8;
  word g = objs[i].f;
  assert(g == 8, "ptr_write");
  word y = a[i];
  assert(y == 10 + 10 * i, "sharr_symbolic");
  a[1] = 5;
  word z = a[1];
  assert(z == 5, "sharr_constant");
  word c = b[1];
  assert(c == 7, "fill");
  struct S *q = i == 0 ? &s1 : &s2;
  word id = q->id + a[2];
  assert(id == (q == &s1 ? 31 : 32), "const_field");
  s2.f = s1.id;
  word h = s2.f;
  assert(h == 1, "dot_field");
  assert(h == 0, "reached");
}
"""


def test_records_and_arrays(models):
    r = models.verify(RECORDS)
    expect(r, objarr_written="proved", objarr_init="proved", ptr_same_object="proved", ptr_write="proved",
           sharr_symbolic="proved", sharr_constant="proved", fill="proved", const_field="proved",
           dot_field="proved", reached="violated")


@pytest.mark.parametrize("limit, status", [(2, "proved"), (3, "violated")])
def test_symbolic_index_out_of_bounds(models, limit, status):
    text = f"""
        struct S {{ word f; }};
        object struct S objs[2];
        shared word a[2] = {{0, 0}};
        thread T {{
          word i = nondet({limit});     // one bounded nondet per model: see the report on encode.py
          word x = objs[i].f;
          a[i] = 1;
        }}
    """
    r = models.verify(text)
    expect(r, uaf=status)
    if status == "violated":
        assert "index out of bounds" in prop(r, "uaf").trace.violation


def test_ghost_accesses_do_not_count_and_are_shared(models):
    # `x = g;` touches shared x once (g is a ghost); ghosts are shared between threads
    r = models.verify("""
        shared word x = 0;
        ghost word g = 0;
        thread A { g = 3; }
        thread B {
          await(g != 0);
          x = g;
          word v = x;
          assert(v == 3, "ghost_value");
        }
    """)
    expect(r, ghost_value="proved")


# ---- refcounts: get, put, tryget, tryget_live, kill, refcount ----------------------------------
# Every object of a refcounted struct starts with count 1 (its initial reference).

def test_refcount_harness_that_puts_everything(models):
    r = models.verify("""
        refcounted struct obj { word x; };
        object struct obj o;
        thread T {
          get(&o);
          word c = refcount(&o);
          assert(c == 2, "count2");
          put(&o);
          put(&o);                          // the initial reference: o is released
          word ok = tryget(&o);             // fails, and that is no error
          assert(!ok, "tryget_released");
          word c0 = refcount(&o);
          assert(c0 == 0, "count0");
          assert(c0 == 1, "reached");
        }
    """)
    expect(r, count2="proved", tryget_released="proved", count0="proved", reached="violated")


def test_get_after_final_put_is_a_uaf(models):
    text = """
        refcounted struct obj { word x; };
        object struct obj o;
        thread T {
          put(&o);
          get(&o);
        }
    """
    r = models.verify(text)
    # the late get is a use after free; it also leaves a reference behind
    expect(r, uaf="violated", leak="violated")
    step = last_step(r, "uaf")
    assert (step.thread, step.line) == ("T", line_of(text, "get(&o)"))
    assert step.changes == ("o.refcnt: 0 -> 1",)
    assert "get() on a released object" in prop(r, "uaf").trace.violation


def test_racing_put_makes_a_get_a_uaf(models):
    text = """
        refcounted struct obj { word x; };
        object struct obj o;
        thread A { get(&o); put(&o); }
        thread B { put(&o); }
    """
    r = models.verify(text)
    expect(r, uaf="violated")          # 1 + 1 - 1 - 1: the count always ends at 0
    trace = prop(r, "uaf").trace
    assert [(s.thread, s.line) for s in trace.steps] == [("B", 4), ("A", 3)]
    assert "in thread A at m.dsl:3" in trace.violation


def test_kill_and_tryget_live(models):
    r = models.verify("""
        refcounted struct obj { word x; };
        object struct obj o;
        thread T {
          get(&o);
          kill(&o);                         // drops the initial reference, marks o dead
          word c = refcount(&o);
          assert(c == 1, "count_after_kill");
          word live = tryget_live(&o);
          assert(!live, "tryget_live_fails_after_kill");
          word ok = tryget(&o);             // o is not released yet: plain tryget succeeds
          assert(ok, "tryget_ok");
          put(&o);
          put(&o);
          word c0 = refcount(&o);
          assert(c0 == 1, "reached");
        }
    """)
    expect(r, count_after_kill="proved", tryget_live_fails_after_kill="proved", tryget_ok="proved",
           reached="violated")


def test_tryget_live_succeeds_before_kill(models):
    r = models.verify("""
        refcounted struct obj { word x; };
        object struct obj o;
        thread T {
          word live = tryget_live(&o);
          assert(live, "live");
          put(&o);
          kill(&o);
        }
    """)
    expect(r, live="proved")


def test_double_kill_is_an_error(models):
    r = models.verify("""
        refcounted struct obj { word x; };
        object struct obj o;
        thread T { get(&o); kill(&o); kill(&o); put(&o); }
    """)
    assert prop(r, "uaf").status == "violated"
    assert "kill() on an object already killed" in prop(r, "uaf").trace.violation


def test_tryget_racing_kill_neither_leaks_nor_frees_early(models):
    r = models.verify("""
        refcounted struct obj { word x; };
        object struct obj o;
        shared struct obj *slot = &o;
        thread Reader {
          struct obj *p = READ_ONCE(slot);
          if (p && tryget(p)) {
            word x = p->x;
            put(p);
          }
        }
        thread Owner {
          struct obj *p = xchg(&slot, NULL);
          kill(p);
        }
    """)
    expect(r)


def test_leak_of_a_get_never_put(models):
    text = """
        refcounted struct obj { word x; };
        object struct obj o;
        thread T {
          get(&o);
          kill(&o);
        }
    """
    r = models.verify(text)
    expect(r, leak="violated")
    violation = prop(r, "leak").trace.violation
    assert "o ends with count 1" in violation
    assert "get() at step 1 (thread T, m.dsl:4)" in violation


def test_initial_reference_never_dropped_is_a_leak(models):
    r = models.verify("""
        refcounted struct obj { word x; };
        object struct obj o;
        thread T { get(&o); put(&o); }
    """)
    expect(r, leak="violated")


# ---- atomics ---------------------------------------------------------------------------------

ATOMICS = """
shared word x = 5;
shared word bits = 0;
shared word cnt = 1;
thread T {
  word r = READ_ONCE(x);
  assert(r == 5, "read_once");
  word r2 = rcu_dereference(x);
  if (likely(r2 == 5) && !unlikely(r2 != 5))
    r2 = r2 + 1;
  assert(r2 == 6, "rcu_dereference_likely");
  WRITE_ONCE(x, 6);
  word o1 = xchg(&x, 7);
  assert(o1 == 6, "xchg_returns_old");
  word o2 = cmpxchg(&x, 7, 8);
  assert(o2 == 7, "cmpxchg_hit_returns_old");
  word o3 = cmpxchg(&x, 7, 9);
  assert(o3 == 8, "cmpxchg_miss_returns_current");
  word v = x;
  assert(v == 8, "cmpxchg_miss_writes_nothing");
  word old = 3;
  word ok = try_cmpxchg(&x, &old, 10);
  assert(!ok && old == 8, "try_cmpxchg_failure_updates_old");
  word ok2 = try_cmpxchg(&x, &old, 11);
  assert(ok2 && old == 8, "try_cmpxchg_success_keeps_old");
  word v2 = x;
  assert(v2 == 11, "try_cmpxchg_writes");
  set_bit(3, &bits);
  word t1 = test_and_set_bit(3, &bits);
  word t2 = test_and_set_bit(1, &bits);
  assert(t1 == 1 && t2 == 0, "test_and_set_bit");
  clear_bit(3, &bits);
  word t3 = test_and_clear_bit(1, &bits);
  word t4 = test_and_clear_bit(1, &bits);
  assert(t3 == 1 && t4 == 0, "test_and_clear_bit");
  word b = bits;
  assert(b == 0, "bits_cleared");
  atomic_inc(&cnt);
  atomic_add(5, &cnt);
  atomic_sub(2, &cnt);
  atomic_dec(&cnt);
  word c = atomic_read(&cnt);
  assert(c == 4, "inc_add_sub_dec");
  atomic_set(&cnt, 2);
  word z1 = atomic_dec_and_test(&cnt);
  word z2 = atomic_dec_and_test(&cnt);
  assert(!z1 && z2, "dec_and_test");
  word n1 = atomic_inc_not_zero(&cnt);
  word c1 = cnt;
  assert(!n1 && c1 == 0, "inc_not_zero_at_zero");
  atomic_inc(&cnt);
  word n2 = atomic_inc_not_zero(&cnt);
  word c2 = cnt;
  assert(n2 && c2 == 2, "inc_not_zero");
  assert(c2 == 3, "reached");
}
"""


def test_every_atomic(models):
    r = models.verify(ATOMICS)
    names = ["read_once", "rcu_dereference_likely", "xchg_returns_old", "cmpxchg_hit_returns_old", "cmpxchg_miss_returns_current",
             "cmpxchg_miss_writes_nothing", "try_cmpxchg_failure_updates_old", "try_cmpxchg_success_keeps_old",
             "try_cmpxchg_writes", "test_and_set_bit", "test_and_clear_bit", "bits_cleared", "inc_add_sub_dec",
             "dec_and_test", "inc_not_zero_at_zero", "inc_not_zero"]
    expect(r, **{n: "proved" for n in names}, reached="violated")


def test_try_cmpxchg_trace_shows_old_written_back(models):
    text = """
        shared word x = 4;
        thread T {
          word old = 0;
          word ok = try_cmpxchg(&x, &old, 1);
          assert(ok, "swapped");
        }
    """
    r = models.verify(text)
    expect(r, swapped="violated")
    step = last_step(r, "swapped")
    assert step.line == line_of(text, "try_cmpxchg")
    assert "x stays 4" in step.changes and "old = 4" in step.changes and "ok = 0" in step.changes


INCREMENTS = """
shared word n = 0;
ghost word done = 0;
thread A { INC; atomic { done = done + 1; } }
thread B {
  INC;
  atomic { done = done + 1; }
  await(done == 2);
  word c = n;
  assert(c == 2, "no_lost_increment");
}
"""


@pytest.mark.parametrize("inc, status", [
    ("atomic_inc(&n)", "proved"),
    ("atomic { word t = n; n = t + 1; }", "proved"),
    ("word t = n; n = t + 1", "violated"),
])
def test_atomic_increments_never_lose_updates(models, inc, status):
    r = models.verify(INCREMENTS.replace("INC", inc))
    expect(r, no_lost_increment=status)
    if status == "violated":
        trace = prop(r, "no_lost_increment").trace
        assert trace.steps[-1].thread == "B" and trace.steps[-1].changes == ("c = 1",)


@pytest.mark.parametrize("text, statuses", [(text, want) for _, text, want in atomic_models.CASES + array_models.CASES],
                         ids=[case for case, _, _ in atomic_models.CASES + array_models.CASES])
def test_atomic_t_operations(models, text, statuses):
    # the atomic_t operations (atomic_fetch_*, atomic_*_return, atomic_and/or/andnot,
    # atomic_xchg/cmpxchg/try_cmpxchg), array fields and local arrays: verdicts derived by hand
    # in tests/atomic_models.py and tests/array_models.py,
    # which the interpreter and SPIN are held to as well
    expect(models.verify(text), **statuses)


def test_plain_ticket_trace_shows_the_lost_update(models):
    text = dict((case, text) for case, text, _ in atomic_models.CASES)["plain-fetch_add"]
    r = models.verify(text)
    trace = prop(r, "distinct_tickets").trace
    assert trace is not None and trace.steps[-1].thread == "C"
    assert {s.thread for s in trace.steps} == {"A", "B", "C"}


def test_fetch_add_trace_names_the_operation(models):
    text = """
        shared word n = 1;
        thread T {
          word t = atomic_fetch_add(2, &n);
          assert(t == 3, "old");
        }
    """
    r = models.verify(text)
    expect(r, old="violated")
    step = last_step(r, "old")
    assert step.line == line_of(text, "atomic_fetch_add")
    assert "n: 1 -> 3" in step.changes and "t = 1" in step.changes


RETRY = """
shared word x = 0;
thread A {
  word old = x;
  do {
  } while (!try_cmpxchg(&x, &old, old + 1));
}
thread B {
  word old = x;
  do {
  } while (!try_cmpxchg(&x, &old, old + 1));
}
thread C {
  await(x == 2);
  word v = x;
  assert(v == 2, "both");
}
"""


def test_retry_loop_bound(models):
    # each try_cmpxchg can fail only because the other thread's increment came in between:
    # at most one retry per thread. Bound 2 covers every execution, bound 1 does not.
    r = models.verify(RETRY, bound=2)
    expect(r, both="proved")
    r = models.verify(RETRY, bound=1)
    expect(r, uaf="bounded", deadlock="bounded", both="bounded")
    assert prop(r, "both").coverage == ("executions go on past the bound 1 in the loops at m.dsl:4 (thread A), "
                                        "m.dsl:9 (thread B)")


# ---- locks, RCU, await, assume -------------------------------------------------------------------

LOCKED = """
shared word lock = 0;
shared word counter = 0;
ghost word inside = 0;
ghost word done = 0;
proc void critical(void) {
  LOCK;
  inside = inside + 1;
  assert(inside == 1, "mutex");
  word t = counter;
  counter = t + 1;
  inside = inside - 1;
  UNLOCK;
  atomic { done = done + 1; }
}
thread A { critical(); }
thread B {
  critical();
  await(done == 2);
  word c = counter;
  assert(c == 2, "no_lost_increment");
}
"""


def test_spin_lock_mutual_exclusion(models):
    r = models.verify(LOCKED.replace("UNLOCK", "spin_unlock(&lock)").replace("LOCK", "spin_lock(&lock)"))
    expect(r, mutex="proved", no_lost_increment="proved")


def test_without_the_lock_there_is_no_mutual_exclusion(models):
    r = models.verify(LOCKED.replace("UNLOCK;", "").replace("LOCK;", ""))
    expect(r, mutex="violated", no_lost_increment="violated")


def test_lock_taken_twice_deadlocks(models):
    text = """
        shared word lock = 0;
        thread A {
          spin_lock(&lock);
          spin_lock(&lock);
          spin_unlock(&lock);
        }
    """
    r = models.verify(text)
    expect(r, deadlock="violated")
    trace = prop(r, "deadlock").trace
    assert [(s.thread, s.line, s.changes) for s in trace.steps] == [("A", 3, ("lock: 0 -> 1",))]
    assert "A waits forever at m.dsl:4" in trace.violation


def test_lock_order_inversion_deadlocks(models):
    r = models.verify("""
        shared word l1 = 0;
        shared word l2 = 0;
        thread A { spin_lock(&l1); spin_lock(&l2); spin_unlock(&l2); spin_unlock(&l1); }
        thread B { spin_lock(&l2); spin_lock(&l1); spin_unlock(&l1); spin_unlock(&l2); }
    """)
    expect(r, deadlock="violated")
    assert len(prop(r, "deadlock").trace.steps) == 2


def test_rcu_read_lock_is_no_step(models):
    text = """
        shared word x = 0;
        thread W { x = 1; }
        thread R {
          rcu_read_lock();
          word v = READ_ONCE(x);
          rcu_read_unlock();
          assert(v == 0, "old_value");
        }
    """
    r = models.verify(text)
    expect(r, old_value="violated")
    trace = prop(r, "old_value").trace
    assert [(s.thread, s.line) for s in trace.steps] == [("W", 2), ("R", line_of(text, "READ_ONCE"))]


def test_await_orders_message_passing(models):
    r = models.verify("""
        shared word data = 0;
        shared word flag = 0;
        thread P { data = 42; WRITE_ONCE(flag, 1); }
        thread C {
          await(READ_ONCE(flag) == 1);
          word d = data;
          assert(d == 42, "message");
        }
    """)
    expect(r, message="proved")


def test_await_in_a_branch_not_taken_does_not_block(models):
    text = """
        shared word flag = 0;
        shared word x = 0;
        shared word lock = 1;
        thread T {
          word v = x;
          if (v == 5) { await(flag == 1); }
          if (v == 6) { spin_lock(&lock); }
          x = 2;
          word w = x;
          assert(w == 2, "passed");
          assert(w != 2, "reached");
        }
    """
    r = models.verify(text)
    expect(r, passed="proved", reached="violated")
    # steps of the branches not taken are not part of the run
    lines = [s.line for s in prop(r, "reached").trace.steps]
    assert lines == [line_of(text, "word v = x"), line_of(text, "x = 2"), line_of(text, "word w = x")]


def test_await_never_satisfied_deadlocks(models):
    text = """
        shared word flag = 0;
        thread W { WRITE_ONCE(flag, 2); }
        thread C { await(flag == 1); }
    """
    r = models.verify(text)
    expect(r, deadlock="violated")
    assert "C waits forever at m.dsl:3" in prop(r, "deadlock").trace.violation


def test_assume_prunes_executions(models):
    r = models.verify("""
        shared word x = 0;
        thread T {
          word v = nondet(4);
          assume(v != 3);
          x = v;
          word r = x;
          assert(r < 3, "assumed");
          assert(r < 2, "not_assumed");
        }
    """)
    expect(r, assumed="proved", not_assumed="violated")
    assert "r = 2" in changes(r, "not_assumed")


def test_nondet(models):
    r = models.verify("""
        shared word x = 0;
        thread T {
          x = nondet(3);
          word v = x;
          assert(v <= 2, "in_range");
          assert(v != 2, "reaches_top");
          x = nondet();
          word w = x;
          assert(w != 40000, "any_word");
        }
    """)
    expect(r, in_range="proved", reaches_top="violated", any_word="violated")
    assert "w = 40000" in changes(r, "any_word")


def test_assert_without_label_and_lost_update(models):
    text = """
        shared word x = 0;
        thread T {
          x = 1;
          word v = x;
          assert(v == 1);
          assert(v == 2);
          lost_update(v == 1);
          lost_update(v == 3, "stale");
        }
    """
    r = models.verify(text)
    ok, bad = line_of(text, "assert(v == 1)"), line_of(text, "assert(v == 2)")
    expect(r, **{f"assert@m.dsl:{ok}": "proved", f"assert@m.dsl:{bad}": "violated",
                 "lost_update": "proved", "stale": "violated"})
    assert prop(r, "stale").kind == "lost_update" and prop(r, "lost_update").kind == "lost_update"
    assert prop(r, f"assert@m.dsl:{bad}").kind == "assert"
    assert prop(r, f"assert@m.dsl:{bad}").trace.violation == f"assertion failed in thread T at m.dsl:{bad}"
    assert prop(r, "stale").trace.violation == (
        f"lost update (stale) in thread T at m.dsl:{line_of(text, 'stale')}: the model's statement does not hold: "
        'lost_update(v == 3, "stale");')


def test_a_lost_update_of_several_lines_is_quoted_by_its_first_and_says_where_it_ends(models):
    text = """
        shared word x = 0;
        thread T {
          x = 1;
          word v = x;
          lost_update(v == 3
                      || v == 4, "stale");
        }
    """
    r = models.verify(text)
    start = line_of(text, "lost_update(v == 3")
    assert prop(r, "stale").trace.violation == (
        f"lost update (stale) in thread T at m.dsl:{start}: the model's statement does not hold: "
        f"lost_update(v == 3 ... (to line {start + 1})")


def test_same_label_on_several_asserts_is_one_property(models):
    r = models.verify("""
        shared word x = 0;
        thread A { x = 1; word v = x; assert(v != 0, "nonzero"); }
        thread B { word w = x; assert(w <= 1, "nonzero"); }
    """)
    expect(r, nonzero="proved")


# ---- control flow, procedures, include ---------------------------------------------------

CONTROL = """
shared word out = 0;
shared word in = 3;
proc word add(word a, word b) {
  return a + b;
}
proc word first_ge(word limit) {
  for (word i = 0; i < 10; i++) {
    if (i >= limit)
      return i;
  }
  return 99;
}
proc void store(word v) {
  out = v;
}
thread T {
  word v = in;
  word sum = 0;
  for (word i = 0; i < 6; i++) {
    if (i == 1) continue;
    if (i == 4) break;
    sum += i;                    // 0 + 2 + 3
  }
  word w = 0;
  while (w < v) w++;             // 3 iterations
  word d = 0;
  do { d = d + 2; } while (d < v);   // 2 iterations
  word e;
  if (v == 3) e = 1; else e = 2;
  word r = add(v, sum);
  word f = first_ge(v);          // 4 iterations, the first one done by every execution
  store(r * 100 + w * 10 + d);
  word o = out;
  assert(o == 834, "loops");
  assert(e == 1, "if_else");
  assert(f == 3, "early_return");
  if (v == 3) return;
  assert(0, "after_return");
}
"""


def test_control_flow_and_procedures(models):
    # v is read from shared memory, so the loops on v count against the bound
    r = models.verify(CONTROL, bound=3)
    # `in` is always 3, so the thread always returns before `after_return`: vacuous, not proved
    expect(r, loops="proved", if_else="proved", early_return="proved", after_return="vacuous")


def test_control_flow_past_the_bound(models):
    # the asserts stand after a loop that needs 3 iterations: at bound 2 no execution reaches
    # them, so they hold only vacuously (never "proved"); the built-in properties are bounded
    r = models.verify(CONTROL, bound=2)
    expect(r, uaf="bounded", deadlock="bounded", loops="vacuous", if_else="vacuous",
           early_return="vacuous", after_return="vacuous")


def test_control_flow_wrong_expectations(models):
    text = CONTROL.replace('assert(o == 834, "loops")', 'assert(o == 835, "loops")') \
                  .replace("if (v == 3) return;", "if (v == 4) return;")
    r = models.verify(text, bound=3)
    expect(r, loops="violated", if_else="proved", early_return="proved", after_return="violated")


def test_procedure_returning_a_pointer(models):
    r = models.verify("""
        struct obj { word x; };
        object struct obj a = { .x = 1 }, b = { .x = 2 };
        shared struct obj *cur = &a;
        proc struct obj *pick(word second) {
          if (second)
            return &b;
          return READ_ONCE(cur);
        }
        thread T {
          struct obj *p = pick(0);
          struct obj *q = pick(1);
          word x = p->x;
          word y = q->x;
          assert(x == 1 && y == 2, "picked");
        }
    """)
    expect(r, picked="proved")


LIB = """
const STEP = 2;
shared word total = 0;
proc void bump(void) {
  atomic_add(STEP, &total);
}
"""

MAIN = """
include "lib/common.dsl";
thread A { bump(); }
thread B {
  bump();
  await(total == 4);
  word t = total;
  assert(t == WANT, "both_bumps");
}
"""


def test_include_of_a_shared_file(models):
    models.write(LIB, "sub/lib/common.dsl")
    r = models.verify(MAIN.replace("WANT", "4"), name="sub/main.dsl")
    expect(r, both_bumps="proved")
    r = models.verify(MAIN.replace("WANT", "2 * STEP + 1"), name="sub/main.dsl")
    expect(r, both_bumps="violated")
    steps = prop(r, "both_bumps").trace.steps
    assert {(s.file, s.line) for s in steps[:2]} == {("sub/lib/common.dsl", 4)}
    assert (steps[-1].file, steps[-1].thread) == ("sub/main.dsl", "B")


# ---- the bound -------------------------------------------------------------------------------

SPIN = """
shared word flag = 0;
thread A {
  while (READ_ONCE(flag) == 0) { }
  word f = flag;
  assert(f == 1, "flag_set");
}
thread B { WRITE_ONCE(flag, 1); }
"""


def test_spin_wait_is_proved(models):
    # a spin loop (docs/semantics.md, "Spin loops") never counts against the bound
    expect(models.verify(SPIN), flag_set="proved")


# the same wait counting its rounds in a ghost: a write, so not a spin loop (lang/spin_loops.py)
COUNTED_SPIN = SPIN.replace("shared word flag = 0;", "shared word flag = 0;\nghost word rounds = 0;").replace(
    "while (READ_ONCE(flag) == 0) { }", "while (READ_ONCE(flag) == 0) { rounds++; }")


def test_wait_loop_that_writes_is_bounded(models):
    r = models.verify(COUNTED_SPIN)
    expect(r, uaf="bounded", deadlock="bounded", flag_set="bounded")
    assert prop(r, "flag_set").coverage == ("executions go on past the bound 2 in the loop at m.dsl:4 (thread A); "
                                            "m.dsl:4 is not a spin loop: it contains a write of shared memory")


TWO_SPINNERS = """
shared word flag = 0, other = 0;
ghost word rounds = 0;
thread A {
  while (READ_ONCE(flag) == 0) { rounds++; }
}
thread B {
  while (READ_ONCE(other) == 0) { rounds++; }
}
thread C { WRITE_ONCE(flag, 1); WRITE_ONCE(other, 1); }
"""


def test_bounded_names_every_loop_that_runs_past_the_bound(models):
    # whichever execution the solver finds first, both loops are named, in file order
    r = models.verify(TWO_SPINNERS)
    expect(r, uaf="bounded", deadlock="bounded")
    assert prop(r, "uaf").coverage == ("executions go on past the bound 2 in the loops at m.dsl:4 (thread A), "
                                        "m.dsl:7 (thread B); m.dsl:4 is not a spin loop: it contains a write of "
                                        "shared memory; m.dsl:7 is not a spin loop: it contains a write of shared memory")


def test_model_bound_declaration_and_override(models):
    text = "bound 5;\n" + dedent(COUNTED_SPIN)
    r = models.verify(text)
    assert r.bound == 5 and prop(r, "flag_set").status == "bounded"
    r = models.verify(text, bound=3)
    assert r.bound == 3 and prop(r, "flag_set").bound == 3


COUNTING = """
shared word stop = 0;
shared word n = 0;
thread A {
  while (READ_ONCE(stop) == 0) {
    atomic_inc(&n);
  }
}
thread B {
  word c = READ_ONCE(n);
  assert(c < 3, "few");
  WRITE_ONCE(stop, 1);
}
"""


@pytest.mark.parametrize("bound, status", [(1, "bounded"), (2, "bounded"), (3, "violated")])
def test_loop_body_runs_at_most_bound_times(models, bound, status):
    # n reaches 3 only after three iterations of A's loop
    r = models.verify(COUNTING, bound=bound)
    expect(r, uaf="bounded", deadlock="bounded", few=status)
    if status == "violated":
        trace = prop(r, "few").trace
        assert len(trace.steps) == 7 and trace.shortest     # 3 x (test, increment), then B's read
        assert [s.thread for s in trace.steps] == ["A"] * 6 + ["B"]
        assert trace.steps[-1].changes == ("c = 3",)


def test_constant_trip_count_is_unrolled_exactly(models):
    r = models.verify("""
        param N = 6;
        shared word n = 0;
        thread A {
          for (word i = 0; i < N; i++)
            atomic_inc(&n);
          word c = n;
          assert(c == N, "all");
        }
    """, bound=1)
    expect(r, all="proved")


# ---- which built-in properties a model has (docs/semantics.md, "Property order") ------------
# leak applies only to a model with an object of a refcounted struct; uaf and deadlock always.

NO_OBJECT = """
refcounted struct obj { word x; };      // declared, but no object of it: nothing can leak
shared word n = 0;
thread A { atomic_inc(&n); }
thread B { word c = n; assert(c < 2, "small"); }
"""

ONE_OBJECT = """
refcounted struct obj { word x; };
object struct obj o;
thread A { word c = refcount(&o); assert(c == 1, "one"); }
"""


def test_leak_is_listed_only_with_a_refcounted_object(models):
    r = models.verify(NO_OBJECT)
    assert [(p.name, p.kind) for p in r.properties] == [("uaf", "uaf"), ("deadlock", "deadlock"), ("small", "assert")]
    assert [p.status for p in r.properties] == ["proved", "proved", "proved"]
    # with an object: o keeps its initial reference, the leak is real, and it is reported
    # first, as before
    r = models.verify(ONE_OBJECT)
    assert [(p.name, p.status) for p in r.properties] == [
        ("leak", "violated"), ("uaf", "proved"), ("deadlock", "proved"), ("one", "proved")]


# ---- spin loops (docs/semantics.md, "Spin loops") -----------------------------------------
@pytest.mark.parametrize("text, statuses", [(text, want) for _, text, want in spin_models.CASES],
                         ids=[case for case, _, _ in spin_models.CASES])
def test_spin_loops(models, text, statuses):
    # verdicts derived by hand in tests/spin_models.py, which the interpreter and SPIN are held
    # to as well: a spin loop never counts against the bound, so nothing here is bounded, at
    # bound 1 as at the default
    expect(models.verify(text), **statuses)
    expect(models.verify(text, bound=1), **statuses)


@pytest.mark.parametrize("text", [text for _, text in spin_models.NOT_SPIN],
                         ids=[case for case, _ in spin_models.NOT_SPIN])
def test_loops_that_are_not_spin_loops_keep_the_bound(models, text):
    # a count carried from one iteration to the next, a shared write, an iteration that does
    # not start with a read (lang/spin_loops.py): the bound rule applies, as before, and the
    # verdict's words say why the loop is not a spin loop
    r = models.verify(text)
    expect(r, uaf="bounded", deadlock="bounded")
    why = {"carries-a-count": "it reads a local that an earlier iteration wrote",
           "writes-shared": "it contains a write of shared memory",
           "starts-with-a-local": "its iteration does not start by reading shared memory"}
    case = next(case for case, t in spin_models.NOT_SPIN if t == text)
    assert prop(r, "uaf").coverage.endswith(f"; m.dsl:2 is not a spin loop: {why[case]}") or \
        prop(r, "uaf").coverage.endswith(f"; m.dsl:3 is not a spin loop: {why[case]}")


def test_a_retry_loop_gets_no_spin_loop_words(models):
    # a loop with an atomic builtin does not look like a wait: its bounded words are as before
    text = "shared word n = 0;\nthread T { while (READ_ONCE(n) != 5) { atomic_inc(&n); } }\n"
    r = models.verify(text, bound=1)
    assert prop(r, "uaf").coverage == "executions go on past the bound 1 in the loop at m.dsl:2 (thread T)"


def test_spin_deadlock_names_the_loop_and_replays(models):
    from objcg_proof.lang.diagnostics import SourceCache
    from objcg_proof.lang.parser import load_model
    from objcg_proof.lang.resolve import resolve
    from objcg_proof.oracles.interpret import replay

    text = dict((case, text) for case, text, _ in spin_models.CASES)["read-apart"]
    r = models.verify(text)
    trace = prop(r, "deadlock").trace
    assert trace is not None
    # W finishes; R, stopped at the loop's entry, would go round again on x == y == 1
    assert [s.thread for s in trace.steps] == ["W", "W"]
    assert f"R spins forever in the loop at {trace.steps[0].file}:{line_of(text, 'while (1)')}" in trace.violation
    program = resolve(load_model(trace.steps[0].file, SourceCache()))
    ok, why = replay(program, [(s.thread, s.file, s.line) for s in trace.steps], "deadlock", "deadlock")
    assert ok, why


def test_peterson_with_its_c_loop_is_proved_and_its_broken_variant_violated():
    from objcg_proof.lang.diagnostics import SourceCache
    from objcg_proof.prove.verify import VerifyOptions, verify_path

    root = Path(__file__).resolve().parents[2]
    good = verify_path(str(root / "models/examples/peterson.dsl"), SourceCache(), VerifyOptions())
    expect(good, mutual_exclusion="proved")
    bad = verify_path(str(root / "models/examples/peterson_broken.dsl"), SourceCache(), VerifyOptions())
    expect(bad, mutual_exclusion="violated")
def test_local_arrays_make_no_step(models):
    # the counterexample of same_x has B's write between A's two reads of x, and nothing else:
    # the local array's initialiser, its local assignments and the check are not steps
    r = models.verify(array_models.LOCAL)
    trace = prop(r, "same_x").trace
    assert trace is not None
    assert [(s.thread, s.line) for s in trace.steps] == [
        ("A", line_of(array_models.LOCAL, "seen[0] = x;")), ("B", line_of(array_models.LOCAL, "thread B")),
        ("A", line_of(array_models.LOCAL, "seen[1] = x;"))]


def test_array_field_index_out_of_bounds_is_located(models):
    r = models.verify(array_models.OUT_OF_BOUNDS)
    step = last_step(r, "uaf")
    assert step.line == line_of(array_models.OUT_OF_BOUNDS, "m.counts[i]")
    assert "index out of bounds for 'counts[2]'" in prop(r, "uaf").trace.violation


def test_a_nondet_choice_is_shown_with_the_next_step_and_only_where_it_was_made(tmp_path):
    """NOTE(nondet-choices) in prove/unroll_steps.py: `word c = nondet(3);` touches no memory,
    so it is no step of its own; the trace shows the choice, with the line that made it, in
    the thread's next step; a choice on a path the execution did not take is not shown."""
    import io
    from objcg_proof.cli.dispatch import main
    path = tmp_path / "nd.dsl"
    path.write_text("shared word x = 0;\n"
                    "thread A {\n"
                    "    word c = nondet(3);\n"
                    "    word d = 0;\n"
                    "    if (c == 1)\n"
                    "        d = nondet(5);\n"
                    "    if (c == 2)\n"
                    "        x = 1;\n"
                    "}\n"
                    "thread B {\n"
                    "    word r = x;\n"
                    "    assert(r == 0, \"zero\");\n"
                    "}\n")
    out = io.StringIO()
    assert main(["--json", "-p", "zero", str(path)], out, io.StringIO()) == 1
    import json
    steps = json.loads(out.getvalue())["results"][0]["trace"]
    a_steps = [s for s in steps if s["thread"] == "A"]
    assert len(a_steps) == 1 and a_steps[0]["line"] == 8
    assert "c = 2 (nondet() at line 3)" in a_steps[0]["changes"]
    assert not any("d =" in change for s in steps for change in s["changes"])   # c == 1 was not taken
