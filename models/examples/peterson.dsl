// peterson.dsl: Peterson's mutual exclusion for two threads.
//
// Each thread raises its flag, gives the turn away, and busy-waits while the other thread's
// flag is up and the turn is the other thread's. A ghost counter of the threads inside the
// critical section checks mutual exclusion on entry.
//
// Expected verdicts (objcg-prove models/examples/peterson.dsl, exit status 0):
//   (no leak property: no refcounted objects)
//   uaf                 proved   (nothing to dereference)
//   deadlock            proved   (turn always lets one waiter go)
//   mutual_exclusion    proved
// The wait loop is a spin loop (docs/semantics.md, "Spin loops"): its iteration only reads
// shared memory and sets the locals it reads, so an iteration that goes round again changes
// nothing but the time, and every engine runs it once: the thread leaves the loop, or it
// waits there, and it waits forever (a deadlock) only when, with no other thread able to
// move, one more iteration would go round again. The loop does not count against the bound,
// which is why the verdicts are proofs, for the C loop as written: the flag and the turn
// are read in two steps, as the C does. The C condition
// `while (READ_ONCE(flag[other]) && READ_ONCE(turn) == other);` reads two words in one
// statement, which the atomicity rule refuses: the loop below is that condition, one load
// per statement. Mutual exclusion holds under sequential consistency only:
// `objcg-prove --memory-model lkmm models/examples/peterson.dsl` violates it (store buffering:
// "nothing orders P0's write of turn before its read of flag[1]"), and
// models/examples/peterson_mb.dsl has the barriers that restore it under the LKMM.
// Sanity check: models/examples/peterson_broken.dsl exchanges the two stores at the top of
// lock() (turn first, then the flag): mutual_exclusion is VIOLATED there.

bound 3;

shared word flag[2] = {0, 0};   // bool flag[2];
shared word turn = 0;           // int turn;
ghost word in_cs = 0;           // threads inside the critical section

proc void lock(word self) {
    word other = 1 - self;
    flag[self] = 1;             // WRITE_ONCE(flag[self], true);
    turn = other;               // WRITE_ONCE(turn, other);
    while (1) {                 // while (READ_ONCE(flag[other]) && READ_ONCE(turn) == other)
        word f = flag[other];   //     (the flag load)
        if (!f)
            break;
        word t = turn;          //     (the turn load)
        if (t != other)
            break;
    }                           //     cpu_relax();
}

proc void unlock(word self) {
    flag[self] = 0;             // WRITE_ONCE(flag[self], false);
}

proc void critical_section(void) {
    in_cs++;
    assert(in_cs == 1, "mutual_exclusion");
    in_cs--;
}

thread P0 {
    lock(0);
    critical_section();
    unlock(0);
}

thread P1 {
    lock(1);
    critical_section();
    unlock(1);
}
