"""The kernel's atomic_t operations as small models with hand-derived verdicts, checked by every
engine: the prover (tests/prove/test_semantics.py), the interpreter
(tests/oracles/test_interpreter.py) and SPIN (tests/oracles/test_spin.py).

Each case is (id, model text, the status of every property the model states, and of a
built-in that is not proved). The statuses follow from docs/semantics.md ("Shared-memory
operations") under sequential consistency, not from any engine's answer: a fetch returns the
value read, a `_return` the value written, the void ones 0, andnot writes `r & ~i`, words wrap,
and an RMW in a wait condition has its effect only in the step that passes the wait.
"""

from __future__ import annotations

# one thread: every value each operation writes and returns; the last check is false on
# purpose, so the checks before it are shown to be reached
ALL_OPS = """
shared word c = 5;
shared word f = 12;
shared word z = 0;
thread T {
  word a = atomic_fetch_add(3, &c);
  word a2 = atomic_read(&c);
  assert(a == 5 && a2 == 8, "fetch_add_returns_old");
  word b = atomic_fetch_sub(2, &c);
  word b2 = atomic_read(&c);
  assert(b == 8 && b2 == 6, "fetch_sub_returns_old");
  word d = atomic_add_return(4, &c);
  word e = atomic_sub_return(3, &c);
  assert(d == 10 && e == 7, "add_sub_return_new");
  word g = atomic_inc_return(&c);
  word h = atomic_dec_return(&c);
  word h2 = atomic_read(&c);
  assert(g == 8 && h == 7 && h2 == 7, "inc_dec_return_new");
  word w = atomic_dec_return(&z);
  assert(w + 1 == 0 && w != 0, "dec_return_wraps");
  word i = atomic_fetch_and(10, &f);
  word j = atomic_fetch_or(3, &f);
  word k = atomic_fetch_andnot(9, &f);
  word k2 = atomic_read(&f);
  assert(i == 12 && j == 8 && k == 11 && k2 == 2, "fetch_bitwise_return_old");
  atomic_or(12, &f);
  atomic_andnot(6, &f);
  atomic_and(24, &f);
  word l = atomic_read(&f);
  assert(l == 8, "and_or_andnot");
  word m = atomic_xchg(&c, 3);
  word n = atomic_cmpxchg(&c, 3, 4);
  word n2 = atomic_cmpxchg(&c, 3, 9);
  word old = 0;
  word ok = atomic_try_cmpxchg(&c, &old, 5);
  word ok2 = atomic_try_cmpxchg(&c, &old, 6);
  word p = atomic_read(&c);
  assert(m == 7 && n == 3 && n2 == 4 && !ok && ok2 && old == 4 && p == 6, "swaps");
  assert(p == 0, "reached");
}
"""
ALL_OPS_STATUS = {name: "proved" for name in (
    "fetch_add_returns_old", "fetch_sub_returns_old", "add_sub_return_new", "inc_dec_return_new",
    "dec_return_wraps", "fetch_bitwise_return_old", "and_or_andnot", "swaps")} | {"reached": "violated"}

# two threads take a ticket each from one counter; a third checks both once they are done
TICKETS = """
shared word n = 0;
shared word ta = 9;
shared word tb = 9;
ghost word done = 0;
thread A { word t = TAKE; ta = t; atomic { done = done + 1; } }
thread B { word t = TAKE; tb = t; atomic { done = done + 1; } }
thread C {
  await(done == 2);
  word x = ta;
  word y = tb;
  assert(x != y, "distinct_tickets");
  word v = n;
  assert(v == 2, "no_lost_update");
}
"""

# two threads clear one bit each of a word that has both set
CLEAR = """
shared word f = 3;
ghost word done = 0;
thread A { CLEAR_A; atomic { done = done + 1; } }
thread B { word o = atomic_fetch_andnot(2, &f); assert(o & 2, "bit_was_set"); atomic { done = done + 1; } }
thread C {
  await(done == 2);
  word v = f;
  assert(v == 0, "both_cleared");
}
"""

# an RMW in a wait condition happens only when the condition holds (a blocked step has no
# effect): A's add_return can only succeed once B's increment is in, so it returns WANT
AWAIT = """
shared word n = 0;
shared word f = 6;
thread A { await(atomic_add_return(1, &n) == WANT); word v = n; assert(v == 2, "two"); }
thread B { atomic_inc(&n); }
thread C { atomic { await(atomic_fetch_andnot(2, &f) == 4); atomic_or(1, &f); } word g = f; assert(g == 5, "five"); }
thread D { atomic_andnot(2, &f); }
"""

# (id, text, the statuses of the model's own properties and of any built-in that is not proved)
CASES: tuple[tuple[str, str, dict[str, str]], ...] = (
    ("all-ops", ALL_OPS, ALL_OPS_STATUS),
    # the counter's RMW is one step: the tickets differ (0 and 1, or 1 and 2) and n ends at 2
    ("fetch_add", TICKETS.replace("TAKE", "atomic_fetch_add(1, &n)"),
     {"distinct_tickets": "proved", "no_lost_update": "proved"}),
    ("add_return", TICKETS.replace("TAKE", "atomic_add_return(1, &n)"),
     {"distinct_tickets": "proved", "no_lost_update": "proved"}),
    ("inc_return", TICKETS.replace("TAKE", "atomic_inc_return(&n)"),
     {"distinct_tickets": "proved", "no_lost_update": "proved"}),
    # A without the atomic: A reads 0, B's fetch_add returns 0 and writes 1, A writes 1
    ("plain-fetch_add", TICKETS.replace("thread A { word t = TAKE;", "thread A { word t = n; n = t + 1;")
     .replace("TAKE", "atomic_fetch_add(1, &n)"),
     {"distinct_tickets": "violated", "no_lost_update": "violated"}),
    # atomic_andnot and atomic_fetch_andnot clear their own bit only; a plain read and write of
    # the word can write back the other thread's bit (bit 1 is still set when B runs either way)
    ("andnot", CLEAR.replace("CLEAR_A", "atomic_andnot(1, &f)"),
     {"bit_was_set": "proved", "both_cleared": "proved"}),
    ("plain-andnot", CLEAR.replace("CLEAR_A", "word t = f; f = t & ~1"),
     {"bit_was_set": "proved", "both_cleared": "violated"}),
    # C's fetch_andnot reads 4 only after D cleared bit 1 of 6; then the word is 4, or'ed to 5
    ("await-2", AWAIT.replace("WANT", "2"), {"two": "proved", "five": "proved"}),
    # with 1: A can go first and read n == 1 before B's increment; and if B goes first, A's
    # add_return would give 2 and never 1, so A waits for ever
    ("await-1", AWAIT.replace("WANT", "1"), {"two": "violated", "five": "proved", "deadlock": "violated"}),
)
