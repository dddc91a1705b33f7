"""Array fields, per-element initialisers of object arrays and local arrays as small models with
hand-derived verdicts, checked by every engine: the prover (tests/prove/test_semantics.py), the
interpreter (tests/oracles/test_interpreter.py) and SPIN (tests/oracles/test_spin.py).

Each case is (id, model text, the status of every property the model states, and of a
built-in that is not proved). The statuses follow from docs/semantics.md ("Array fields,
per-element initialisers and local arrays", "Failed accesses") under sequential consistency,
not from any engine's answer. Each model has a check that is false on purpose where the others
would otherwise be vacuous, so the checks before it are shown to be reached.
"""

from __future__ import annotations

# one thread: array fields read, written and used by atomics with constant and run-time
# indices, through an object, an object array element and a pointer; both initialiser forms
ONE_THREAD = """
struct obj_cgroup { word id; };
struct mem_cgroup { struct obj_cgroup *objcgs[2]; word counts[3]; };
object struct obj_cgroup objcg_A0, objcg_A1;
object struct mem_cgroup memcg_A = { .objcgs = { &objcg_A0, &objcg_A1 }, .counts = 1 };
object struct mem_cgroup ms[2] = { [1] = { .counts = { 4, 5 } } };
thread T {
    word nid = 1;
    struct obj_cgroup *o = READ_ONCE(memcg_A.objcgs[0]);
    struct mem_cgroup *m = &memcg_A;
    struct obj_cgroup *p = READ_ONCE(m->objcgs[nid]);
    assert(o == &objcg_A0 && p == &objcg_A1, "read");
    word c = ms[1].counts[1];
    word c0 = ms[0].counts[2];
    word c1 = ms[1].counts[2];
    word c2 = memcg_A.counts[2];
    assert(c == 5 && c0 == 0 && c1 == 0 && c2 == 1, "init");
    set_bit(3, &m->counts[nid]);
    word b1 = memcg_A.counts[1];
    word b0 = memcg_A.counts[0];
    assert(b1 == 9 && b0 == 1, "bit");
    struct obj_cgroup *old = xchg(&m->objcgs[nid], NULL);
    struct obj_cgroup *s1 = memcg_A.objcgs[1];
    struct obj_cgroup *s0 = memcg_A.objcgs[0];
    assert(old == &objcg_A1 && s1 == NULL && s0 == &objcg_A0, "xchg");
    word k = 0;
    WRITE_ONCE(ms[k].objcgs[nid], &objcg_A0);
    word d = atomic_fetch_add(2, &ms[nid].counts[k]);
    struct obj_cgroup *w = ms[0].objcgs[1];
    word e = ms[1].counts[0];
    assert(w == &objcg_A0 && d == 4 && e == 6, "write");
    assert(d == 1, "reached");
}
"""
ONE_THREAD_STATUS = {"read": "proved", "init": "proved", "bit": "proved", "xchg": "proved",
                     "write": "proved", "reached": "violated"}

# per-node slots: W empties node 0's slot; a reader of node 1 never sees it change, a reader of
# node 0 may read NULL
NODES = """
struct obj_cgroup { word id; };
struct mem_cgroup { struct obj_cgroup *objcgs[2]; };
object struct obj_cgroup objcg_A0, objcg_A1;
object struct mem_cgroup memcg_A = { .objcgs = { &objcg_A0, &objcg_A1 } };
thread W { struct mem_cgroup *m = &memcg_A; word nid = 0; xchg(&m->objcgs[nid], NULL); }
thread R { struct mem_cgroup *m = &memcg_A; word nid = NID;
           struct obj_cgroup *o = READ_ONCE(m->objcgs[nid]); assert(o != NULL, "not_null"); }
"""

# a run-time index out of range is a failed access: a uaf, the thread stops (its later check
# is never reached); the other thread is not affected
OUT_OF_BOUNDS = """
struct mem_cgroup { word counts[2]; };
object struct mem_cgroup m;
shared word x = 0;
thread A { word i = nondet(3); word v = m.counts[i]; assert(0, "after"); }
thread B { x = 1; assert(x == 0, "other"); }
"""

# a lock per node, taken with a run-time index: the same index excludes, different ones do not
LOCKS = """
struct mem_cgroup { word locks[2]; };
object struct mem_cgroup memcg;
ghost word inside = 0;
thread A { struct mem_cgroup *m = &memcg; word i = 0; spin_lock(&m->locks[i]); inside = inside + 1;
           assert(inside == 1, "exclusive"); inside = inside - 1; spin_unlock(&m->locks[i]); }
thread B { struct mem_cgroup *m = &memcg; word j = J; spin_lock(&m->locks[j]); inside = inside + 1;
           assert(inside == 1, "exclusive"); inside = inside - 1; spin_unlock(&m->locks[j]); }
"""

# a wait on an array element chosen by a run-time index; out of range, the wait's step can
# run (and fails): a uaf, not a deadlock
AWAIT = """
struct mem_cgroup { word ready[2]; };
object struct mem_cgroup memcg;
thread A { word i = I; atomic { await(memcg.ready[i] == 1); } assert(0, "passed"); }
thread B { memcg.ready[1] = 1; }
"""

# local arrays: local words, indexed with constants and run-time indices; reading a shared word
# into one is one step, like a local variable
LOCAL = """
shared word x = 0;
thread A {
    word seen[3] = {7, 8};
    word i = 1;
    seen[i] = seen[i] + 1;
    seen[2] += seen[0];
    assert(seen[0] == 7 && seen[1] == 9 && seen[2] == 7, "local_values");
    seen[0] = x;
    seen[1] = x;
    assert(seen[0] == seen[1], "same_x");
    assert(0, "reached");
}
thread B { x = 1; }
"""

# a run-time index of a local array out of range: a uaf, the thread stops there
LOCAL_OUT_OF_BOUNDS = """
struct obj_cgroup { word id; };
object struct obj_cgroup objcg_A;
thread A {
    struct obj_cgroup *objs[2];
    word i = nondet(3);
    objs[i] = &objcg_A;
    assert(objs[0] == &objcg_A || objs[1] == &objcg_A, "stored");
}
"""

# pointers to pointers: `&memcg->objcgs[nid]` is the address of that word; `*pp`, READ_ONCE(*pp),
# WRITE_ONCE(*pp, v) and xchg(pp, v) reach it; a pointer to a plain shared variable too
POINTER_TO_POINTER = """
struct obj_cgroup { word id; };
struct mem_cgroup { struct obj_cgroup *objcgs[2]; };
object struct obj_cgroup objcg_A0, objcg_A1;
object struct mem_cgroup memcg_A = { .objcgs = { &objcg_A0, &objcg_A1 } };
shared struct obj_cgroup *cached = NULL;
thread T {
    word nid = 1;
    struct mem_cgroup *m = &memcg_A;
    struct obj_cgroup **pp = &m->objcgs[nid];
    struct obj_cgroup *o = *pp;
    struct obj_cgroup *r = READ_ONCE(*pp);
    assert(o == &objcg_A1 && r == &objcg_A1, "deref");
    WRITE_ONCE(*pp, &objcg_A0);
    struct obj_cgroup *old = xchg(pp, NULL);
    struct obj_cgroup *now = memcg_A.objcgs[1];
    assert(old == &objcg_A0 && now == NULL, "xchg");
    struct obj_cgroup **q = &memcg_A.objcgs[0];
    assert(pp != q && q != NULL, "distinct");
    pp = &cached;
    *pp = &objcg_A1;
    struct obj_cgroup *c = cached;
    assert(c == &objcg_A1, "global");
    assert(pp == q, "reached");
}
"""

# per-node slots reached through pointers to pointers, by two threads
NODES_BY_POINTER = """
struct obj_cgroup { word id; };
struct mem_cgroup { struct obj_cgroup *objcgs[2]; };
object struct obj_cgroup objcg_A0, objcg_A1;
object struct mem_cgroup memcg_A = { .objcgs = { &objcg_A0, &objcg_A1 } };
thread W { struct obj_cgroup **pp = &memcg_A.objcgs[0]; xchg(pp, NULL); }
thread R { word nid = NID; struct obj_cgroup **pp = &memcg_A.objcgs[nid];
           struct obj_cgroup *o = READ_ONCE(*pp); assert(o != NULL, "not_null"); }
"""

# `*q` with q not the address of a struct pointer word: NULL, an object's address, a tagged
# word address: each a failed access; with k == 3, q is &slot and T goes on
BAD_POINTER_TO_POINTER = """
struct obj_cgroup { word id; };
object struct obj_cgroup objcg_A;
shared struct obj_cgroup *slot = &objcg_A;
thread T {
    word k = nondet(4);
    struct obj_cgroup **q = &slot;
    if (k == 0) q = NULL;
    if (k == 1) q = (struct obj_cgroup **)&objcg_A;
    if (k == 2) q = (struct obj_cgroup **)((word)q | 1);
    struct obj_cgroup *o = *q;
    assert(0, "after");
}
"""

# (id, text, the statuses of the model's own properties and of any built-in that is not proved)
CASES: tuple[tuple[str, str, dict[str, str]], ...] = (
    ("one-thread", ONE_THREAD, ONE_THREAD_STATUS),
    ("node-1", NODES.replace("NID", "1"), {"not_null": "proved"}),
    ("node-0", NODES.replace("NID", "0"), {"not_null": "violated"}),
    ("out-of-bounds", OUT_OF_BOUNDS, {"uaf": "violated", "after": "violated", "other": "violated"}),
    ("lock-same", LOCKS.replace("J", "0"), {"exclusive": "proved"}),
    ("lock-other", LOCKS.replace("J", "1"), {"exclusive": "violated"}),
    ("await-1", AWAIT.replace("I", "1"), {"passed": "violated"}),
    # i == 0 waits for ever, i == 2 fails its access, i == 1 passes
    ("await-any", AWAIT.replace("I", "nondet(3)"), {"passed": "violated", "deadlock": "violated", "uaf": "violated"}),
    ("local", LOCAL, {"local_values": "proved", "same_x": "violated", "reached": "violated"}),
    ("local-out-of-bounds", LOCAL_OUT_OF_BOUNDS, {"stored": "proved", "uaf": "violated"}),
    ("pointer-to-pointer", POINTER_TO_POINTER, {"deref": "proved", "xchg": "proved", "distinct": "proved",
                                                "global": "proved", "reached": "violated"}),
    ("node-1-by-pointer", NODES_BY_POINTER.replace("NID", "1"), {"not_null": "proved"}),
    ("node-0-by-pointer", NODES_BY_POINTER.replace("NID", "0"), {"not_null": "violated"}),
    ("bad-pointer-to-pointer", BAD_POINTER_TO_POINTER, {"after": "violated", "uaf": "violated"}),
)
