// counter.dsl: the textbook lost update.
//
// Two threads each increment two counters once. `plain` is incremented the way `plain++`
// compiles when nothing makes it atomic: a load, then a store of the loaded value plus one
// (the DSL rejects `plain++;` on shared state: one statement may touch shared state once).
// `counted` is incremented with atomic_inc(), one read-modify-write. A third thread waits until
// both incrementers are done and checks both counters.
//
// Expected verdicts (objcg-prove models/examples/counter.dsl, exit status 1):
//   (no leak property: no refcounted objects)
//   uaf             proved    (nothing to dereference)
//   deadlock        proved    (the checker's await is enabled once both incrementers finish)
//   plain_is_2      VIOLATED  A and B both load 0, both store 1: one increment is lost
//                             (shortest counterexample: 10 steps, every step of every thread:
//                             the check only runs once both incrementers are done)
//   counted_is_2    proved    atomic_inc() cannot be split by another thread's step
// There are no loops, so the bound covers every execution and "proved" is a full proof under
// sequential consistency.

shared word plain = 0;      // int plain;
shared word counted = 0;    // atomic_t counted = ATOMIC_INIT(0);
ghost word done = 0;        // how many incrementers have finished (not program state)

proc void increment(void) {
    word tmp = plain;       // plain++;  (the load ...)
    plain = tmp + 1;        // plain++;  (... and the store)
    atomic_inc(&counted);   // atomic_inc(&counted);
    done++;
}

thread A {
    increment();
}

thread B {
    increment();
}

thread Check {
    await(done == 2);                                   // wait for A and B (e.g. after kthread_stop())
    assert(plain == 2, "plain_is_2");                   // WARN_ON(plain != 2);
    assert(atomic_read(&counted) == 2, "counted_is_2"); // WARN_ON(atomic_read(&counted) != 2);
}
