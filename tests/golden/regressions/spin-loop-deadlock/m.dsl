// A spin loop that waits for a flag nobody sets: once P has finished, C's iteration goes
// round again on the final memory, so C spins for ever: a deadlock (docs/semantics.md,
// "Spin loops"), shown with the loop that spins; the assert after the loop is vacuous.
shared word data = 0;
shared word ready = 0;

thread P {
    data = 1;                   // WRITE_ONCE(data, 1);  (and no smp_store_release(&ready, 1))
}

thread C {
    while (!ready)              // while (!smp_load_acquire(&ready))
        ;                       //     cpu_relax();
    word d = data;
    assert(d == 1, "sees_data");
}
