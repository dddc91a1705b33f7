// peterson_mb.dsl: Peterson's mutual exclusion for two threads, with the barriers it needs
// under the Linux-kernel memory model (LKMM).
//
// models/examples/peterson.dsl is the algorithm as textbooks write it; it keeps mutual exclusion
// under sequential consistency only. `objcg-prove --memory-model lkmm models/examples/peterson.dsl`
// shows why: each thread's store to `turn` and its load of the other thread's flag may be
// reordered (store buffering), so both threads read the other's flag as 0 and both enter. This
// model declares `memory_model lkmm;`, so its verdicts hold under the LKMM, and orders lock()
// with two full barriers:
//   - smp_mb() between the flag store and the turn store: with only smp_wmb() there, a thread
//     can still read the other's flag as 0 after the other's turn store overwrote its own (the
//     "R" shape: smp_wmb() does not propagate the flag store before the turn store reaches the
//     other thread, so the tool shows a counterexample);
//   - smp_mb() between the turn store and the first load of the other thread's flag: the store
//     buffering above.
// `objcg-prove mutate models/examples/peterson_mb.dsl` deletes each barrier in turn: both of
// those mutants violate mutual_exclusion. Three mutants survive, each of a change that matters
// only beyond this scenario, where each thread enters once: deleting the smp_mb() after the wait
// loop (the loop's exit branch already orders the critical section's stores after the loads
// that let it in), relaxing the release in unlock() (no thread takes the lock again after it),
// and raising the other thread's flag instead of one's own (for one entry each, `turn` alone
// lets exactly one thread in first).
//
// The ghost counter `in_cs` is bookkeeping: under the LKMM a ghost read is an acquire and a
// ghost write a release, and `in_cs++` one atomic RMW (docs/lkmm.md, "Ghost variables"), so the
// assert sees another thread inside the critical section exactly when that thread's entry is
// visible to it.
//
// Expected verdicts (objcg-prove models/examples/peterson_mb.dsl, exit status 0, under the LKMM):
//   (no leak property: no refcounted objects)
//   uaf                 proved
//   deadlock            proved
//   mutual_exclusion    proved
// The wait loop is a spin loop (docs/semantics.md, "Spin loops"), so the bound covers every
// execution. Under `--memory-model sc` the verdicts are the same.

memory_model lkmm;
bound 3;

shared word flag[2] = {0, 0};   // bool flag[2];
shared word turn = 0;           // int turn;
ghost word in_cs = 0;           // threads inside the critical section

proc void lock(word self) {
    word other = 1 - self;
    WRITE_ONCE(flag[self], 1);  // WRITE_ONCE(flag[self], true);
    smp_mb();                   // smp_mb();
    WRITE_ONCE(turn, other);    // WRITE_ONCE(turn, other);
    smp_mb();                   // smp_mb();
    while (1) {                 // while (READ_ONCE(flag[other]) && READ_ONCE(turn) == other)
        word f = READ_ONCE(flag[other]);  // (the flag load)
        if (!f)
            break;
        word t = READ_ONCE(turn);         // (the turn load)
        if (t != other)
            break;
    }                           //     cpu_relax();
    smp_mb();                   // smp_mb();  (the lock is taken: nothing of the critical section before it)
}

proc void unlock(word self) {
    smp_store_release(&flag[self], 0);   // smp_store_release(&flag[self], false);
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
