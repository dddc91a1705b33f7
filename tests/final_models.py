"""End-of-run checks (the `final` block) as small models with hand-derived verdicts, checked by
every engine: the prover (tests/prove/test_semantics.py), the interpreter
(tests/oracles/test_interpreter.py) and SPIN (tests/oracles/test_spin.py).

Each case is (id, model text, the status of every property that is not proved). The statuses
follow from docs/semantics.md ("End-of-run checks"), not from any engine's answer: a final
`assert` is checked on the memory of every execution in which every thread finished, and only
there; `holds(p)` makes the object p is the exact address of expected to end with one more
reference; `leak` asks for the count to equal the references held. `vacuous` (no execution
finishes every thread) is the prover's word: the interpreter and SPIN find no violation there.
"""

from __future__ import annotations

# two plain increments race: the sum is 1 or 2 at the end, never 0
RACE = """
shared word counter = 0;
thread A { word t = counter; counter = t + 1; }
thread B { word t = counter; counter = t + 1; }
final {
    assert(counter == 2, "sum");
    assert(counter >= 1 && counter <= 2);
}
"""

# atomic increments: 2 at the end, though 0 or 1 on the way (a thread assert would fail)
ATOMIC = """
shared word counter = 0;
ghost word seen = 0;
thread A { atomic_inc(&counter); }
thread B { atomic_inc(&counter); }
thread C { seen = counter; }
final {
    assert(counter == 2, "sum");
    assert(seen <= 2, "seen");
    assert(seen == 2, "seen_all");
}
"""

# a task caches the object with a reference of its own; the owner then drops the initial one
CACHE = """
const FLAG = 1;
refcounted struct obj { word x; };
struct task { struct obj *cache; };
object struct obj o1, o2;
object struct task t1;
ghost word ready = 0;
thread T (current = &t1) {
    get(&o1);
    current->cache = STORE;
    ready = 1;
}
thread Owner {
    await(ready == 1);
    kill(&o1);
    kill(&o2);
}
final {
    HOLDS
    assert(refcount(&o1) == 1, "one_ref");
}
"""

# two owners keep the object: two holds add up
TWO = """
refcounted struct obj { word x; };
struct task { struct obj *cache; };
object struct obj o1;
object struct task t1, t2;
ghost word ready = 0;
thread T1 (current = &t1) { get(&o1); current->cache = &o1; ready++; }
thread T2 (current = &t2) { get(&o1); current->cache = &o1; ready++; }
thread Owner { await(ready == 2); kill(&o1); }
final {
    HOLDS
}
"""

# the cache may stay NULL: holds(NULL) exempts nothing, and then the object must end at 0
MAYBE = """
refcounted struct obj { word x; };
struct task { struct obj *cache; };
object struct obj o1;
object struct task t1;
ghost word ready = 0;
thread T (current = &t1) {
    if (nondet(2)) {
        get(&o1);
        current->cache = &o1;
    }
    ready = 1;
}
thread Owner { await(ready == 1); kill(&o1); }
final {
    holds(t1.cache);
}
"""

# a thread that never finishes (a false assume, a wait nobody satisfies): nothing is checked
NEVER = """
shared word flag = 0;
thread A { word v = flag; assume(v == 7); }
final { assert(0, "never"); }
"""
STUCK = """
shared word flag = 0;
thread A { await(flag == 1); }
final { assert(0, "never"); }
"""

# one label in a thread and in the final block: one property, violated by either site
MIXED = """
shared word x = 0;
shared word a[3] = {4, 5, 6};
thread A { a[1] = 9; x = 1; assert(1 == 1, "same"); }
final {
    assert(x == 1 && a[0] == 4 && a[1] == 9 && a[2] == 6, "arrays");
    assert(x == 0, "same");
}
"""

# (id, text, the statuses of the properties that are not proved)
CASES: tuple[tuple[str, str, dict[str, str]], ...] = (
    ("race", RACE, {"sum": "violated"}),
    ("atomic", ATOMIC, {"seen_all": "violated"}),
    # the cache keeps its reference: exact with the holds, a leak without it
    ("cache-holds", CACHE.replace("STORE", "&o1").replace("HOLDS", "holds(t1.cache);"), {}),
    ("cache-no-holds", CACHE.replace("STORE", "&o1").replace("HOLDS", ""), {"leak": "violated"}),
    # a tagged pointer names no object: the user untags it
    ("cache-tagged", CACHE.replace("STORE", "(struct obj *)((word)&o1 | FLAG)").replace("HOLDS", "holds(t1.cache);"),
     {"leak": "violated"}),
    ("cache-untagged", CACHE.replace("STORE", "(struct obj *)((word)&o1 | FLAG)")
     .replace("HOLDS", "holds(t1.cache & ~FLAG);"), {}),
    # held twice but only one reference there: the held reference was dropped
    ("cache-held-twice", CACHE.replace("STORE", "&o1").replace("HOLDS", "holds(t1.cache); holds(&o1);"),
     {"leak": "violated"}),
    # a constant pointer to an object that ends at 0: the held reference was dropped
    ("held-released", CACHE.replace("STORE", "&o1").replace("HOLDS", "holds(t1.cache); holds(&o2);"),
     {"leak": "violated"}),
    ("two-holds", TWO.replace("HOLDS", "holds(t1.cache); holds(t2.cache);"), {}),
    ("one-of-two-holds", TWO.replace("HOLDS", "holds(t1.cache);"), {"leak": "violated"}),
    ("maybe-null", MAYBE, {}),
    ("assume-stops", NEVER, {"never": "vacuous"}),
    ("waits-forever", STUCK, {"never": "vacuous", "deadlock": "violated"}),
    ("mixed", MIXED, {"same": "violated"}),
)


def interpreter_status(status: str) -> str:
    """The interpreter explores every execution, unbounded: vacuous is no violation found."""
    return "proved" if status == "vacuous" else status
