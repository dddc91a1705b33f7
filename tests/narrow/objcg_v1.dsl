// models/objcg_v1.dsl on a narrow setting of the shared scenario, for the tests of the tool's
// own machinery (gate, jobs, mutate, compare, replay, SPIN), which need a design that is checked
// in seconds: one migration of T, one allocation by K, no allocation in T's exit windows, T drops
// each reference at once, and the memcgs go offline only after both cgroup.procs writes. The
// shipped model's own verdicts (tests/prove/test_models.py, proofs/) are on the full scenario.
include "../../models/objcg_v1.dsl";
replace param MIGRATIONS = 1;
replace param ALLOCS = 2;
replace param KALLOCS = 1;
replace param EXIT_ALLOCS = 0;
replace param LATE_FREES = 0;
replace param EARLY_OFFLINE = 0;
