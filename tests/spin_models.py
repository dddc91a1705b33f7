"""Spin loops (docs/semantics.md, "Spin loops") as small models with hand-derived verdicts,
checked by every engine: the prover (tests/prove/test_semantics.py), the interpreter
(tests/oracles/test_interpreter.py) and SPIN (tests/oracles/test_spin.py).

Each case is (id, model text, the status of every property, built-ins included). A spin loop
runs its iteration's reads as separate steps; an iteration that goes round again changes
nothing, and a thread waits forever at the loop when, with no other thread able to move, its
iteration goes round again. The statuses follow from that, not from any engine's answer.
"""

from __future__ import annotations

# a consumer waits for `ready`, then reads `data`
HANDOFF = """
shared word data = 0;
shared word ready = 0;
thread P { PRODUCE }
thread C {
  while (!ready)
    ;
  word d = data;
  assert(d == 1, "sees_data");
}
"""

# R leaves the loop when it read different values of x and y; read together they differ only
# in the state (1, 0), so a = 1; read apart, a = 0 (read before W's stores) and b = 1 (after).
# Once W has finished both are 1 and R's iteration goes round for ever: a deadlock
APART = """
shared word x = 0;
shared word y = 0;
thread W { x = 1; y = 1; }
thread R {
  word a = 0;
  word b = 0;
  while (1) {
    a = x;
    b = y;
    if (a != b)
      break;
  }
  assert(a == 1, "read_together");
}
"""

CASES: tuple[tuple[str, str, dict[str, str]], ...] = (
    # the flag is set after the data: the wait ends only when the data is there
    ("handoff", HANDOFF.replace("PRODUCE", "data = 1; ready = 1;"),
     {"uaf": "proved", "deadlock": "proved", "sees_data": "proved"}),
    # the flag is set first: the wait ends, and the data read after it may still be 0
    ("handoff-early-flag", HANDOFF.replace("PRODUCE", "ready = 1; data = 1;"),
     {"uaf": "proved", "deadlock": "proved", "sees_data": "violated"}),
    # nobody ever sets the flag: C spins for ever once P has finished
    ("never-set", """
shared word data = 0;
shared word ready = 0;
thread P { data = 1; }
thread C {
  while (!ready)
    ;
  word d = data;
}
""", {"uaf": "proved", "deadlock": "violated"}),
    ("read-apart", APART, {"uaf": "proved", "deadlock": "violated", "read_together": "violated"}),
    # each waits for the other's flag, which is set only after the wait: both spin for ever
    ("each-other", """
shared word a = 0;
shared word b = 0;
thread A { while (!b) ; a = 1; }
thread B { while (!a) ; b = 1; }
""", {"uaf": "proved", "deadlock": "violated"}),
    # do-while: v is assigned before the condition reads it; the lock is released once
    ("do-while", """
shared word lock = 1;
thread A {
  word v = 0;
  do {
    v = lock;
  } while (v != 0);
  assert(v == 0, "free");
}
thread B { lock = 0; }
""", {"uaf": "proved", "deadlock": "proved", "free": "proved"}),
    # the index read in the iteration is out of bounds until B fixes it: the access fails
    # (uaf); a thread whose iteration fails an access is not waiting, so no deadlock
    ("failed-access", """
shared word idx = 5;
shared word arr[2] = {0, 1};
thread A {
  while (1) {
    word i = idx;
    word v = arr[i];
    if (v)
      break;
  }
}
thread B { idx = 1; }
""", {"uaf": "violated", "deadlock": "proved"}),
    # refcounts after a wait: the last put comes after the wait, so nothing leaks; the
    # iteration reads a field through a pointer read in the same iteration
    ("refcount-after-wait", """
refcounted struct obj { word ready; };
object struct obj o = { .ready = 0 };
shared struct obj *p = &o;
thread A {
  while (1) {
    struct obj *q = p;
    word r = q->ready;
    if (r)
      break;
  }
  put(&o);
}
thread B { o.ready = 1; }
""", {"leak": "proved", "uaf": "proved", "deadlock": "proved"}),
)

# loops that look like waits but are not spin loops (lang/spin_loops.py): the bound rule applies
NOT_SPIN: tuple[tuple[str, str], ...] = (
    ("carries-a-count", "shared word ready = 0;\nthread T { word n = 0; while (!ready) { n = n + 1; } }\n"
                        "thread U { ready = 1; }\n"),
    ("writes-shared", "shared word ready = 0;\nshared word seen = 0;\nthread T { while (!ready) { seen = 1; } }\n"
                      "thread U { ready = 1; }\n"),
    ("starts-with-a-local", "shared word ready = 0;\nthread T { while (1) { word k = 1; if (ready) break; } }\n"
                            "thread U { ready = 1; }\n"),
)
