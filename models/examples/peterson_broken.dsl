// peterson_broken.dsl: Peterson's lock with the two stores at the top of lock() exchanged.
//
// peterson.dsl with one change: lock() gives the turn away before it raises its flag. P0 gives
// the turn to P1 and, before P0's flag is up, P1 gives the turn to P0, sees P0's flag still
// down and enters; P0 then raises its flag, sees turn == 0 (its own) and enters too. The wait
// loop is the same spin loop as in peterson.dsl (docs/semantics.md, "Spin loops"), so the
// verdicts are not bounded: the violation is a real execution, the rest is proved.
//
// Expected verdicts (objcg-prove models/examples/peterson_broken.dsl, exit status 1):
//   (no leak property: no refcounted objects)
//   uaf                 proved   (nothing to dereference)
//   deadlock            proved   (a spin loop whose iteration goes round again while no
//                                 other thread can move would be one; turn always lets one go)
//   mutual_exclusion    VIOLATED (both threads inside the critical section)

bound 3;

shared word flag[2] = {0, 0};   // bool flag[2];
shared word turn = 0;           // int turn;
ghost word in_cs = 0;           // threads inside the critical section

proc void lock(word self) {
    word other = 1 - self;
    turn = other;               // WRITE_ONCE(turn, other);        <- exchanged:
    flag[self] = 1;             // WRITE_ONCE(flag[self], true);   <- the flag is raised last
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
