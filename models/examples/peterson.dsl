// peterson.dsl: Peterson's mutual exclusion for two threads.
//
// Each thread raises its flag, gives the turn away, and busy-waits while the other thread's
// flag is up and the turn is the other thread's. A ghost counter of the threads inside the
// critical section checks mutual exclusion on entry.
//
// Expected verdicts (objcg-prove models/examples/peterson.dsl, exit status 3):
//   (no leak property: no refcounted objects)
//   uaf                 BOUNDED  (nothing to dereference)
//   deadlock            BOUNDED  (no await or spin_lock can block; a spin is not a block)
//   mutual_exclusion    BOUNDED
// Why bounded, never proved: a thread can spin for as long as the other one stays in its
// critical section, and in this semantics a thread may stop anywhere, so for every bound some
// execution wants one more iteration of a wait loop than the bound allows (the loop cut is
// reachable; docs/semantics.md, "The bound"). The verdict therefore means: no violation in any
// execution where each wait loop runs its body at most 4 times: the first iteration of
// `while (1)` is free (its condition is constant and nothing can have left the loop yet), the
// next `bound` = 3 are counted, and a fifth is the cut. Four rounds let each thread re-read
// flag and turn after the other thread has moved on (entered, left, or given the turn back);
// any bound gives the same verdict, only slower. Writing the wait as one
// `atomic { await(!flag[other] || turn != other); }` would be proved, but that reads both
// words in one step, which the C does not do. Mutual exclusion holds under
// sequential consistency only: on real hardware Peterson needs a full barrier (smp_mb())
// between `turn = other` and the first read of the other flag, which this model cannot show.
// Sanity check: exchange the two stores at the top of lock() (turn first, then the flag) and
// mutual_exclusion is VIOLATED.

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
