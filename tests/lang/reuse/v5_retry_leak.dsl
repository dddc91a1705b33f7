// v5 with the put of a failed try_cmpxchg() iteration dropped: the leak of v2 and v3 put back
// into the merged design, written as its difference from models/objcg_v5.dsl (docs/dsl.md,
// "replace and extend"). v5's attach sets the update bit on the migrated task while that task
// may be inside its update loop, so the try_cmpxchg() can fail and the reference the failed
// iteration took is overwritten by the next one: a leak. tests/lang/test_reuse.py checks that
// it gives exactly the verdicts and traces of the same design written out in full.
include "../../../models/objcg_v5.dsl";

// the narrow setting of the scenario (tests/narrow/), so that every engine checks it in seconds
replace param MIGRATIONS = 1;
replace param ALLOCS = 2;
replace param KALLOCS = 1;
replace param EXIT_ALLOCS = 0;
replace param LATE_FREES = 0;
replace param EARLY_OFFLINE = 0;

replace proc struct obj_cgroup *current_objcg_update(void) {
    struct mem_cgroup *memcg;                  // struct mem_cgroup *memcg;
    struct obj_cgroup *old, *objcg = NULL;     // struct obj_cgroup *old, *objcg = NULL;

    do {                                       // do {
        old = xchg(&current->objcg, NULL);     //     old = xchg(&current->objcg, NULL);
        if (old) {                             //     if (old) {
            old = (struct obj_cgroup *)((unsigned long)old & ~CURRENT_OBJCG_UPDATE_FLAG);  // old = (struct obj_cgroup *)((unsigned long)old & ~CURRENT_OBJCG_UPDATE_FLAG);
            if (old)                           //         if (old)
                put(old);                      //             obj_cgroup_put(old);
            old = NULL;                        //         old = NULL;
        }                                      //     }

        if (!current->mm || (current->flags & PF_KTHREAD))  // if (!current->mm || (current->flags & PF_KTHREAD))
            return NULL;                       //         return NULL;

        // the put of the previous iteration's objcg is gone:
        // if (unlikely(objcg)) { obj_cgroup_put(objcg); objcg = NULL; }

        rcu_read_lock();                       //     rcu_read_lock();
        memcg = mem_cgroup_from_task(current); //     memcg = mem_cgroup_from_task(current);
        objcg = __get_obj_cgroup_from_memcg(memcg);  // objcg = __get_obj_cgroup_from_memcg(memcg);
        rcu_read_unlock();                     //     rcu_read_unlock();
    } while (!try_cmpxchg(&current->objcg, &old, objcg));  // } while (!try_cmpxchg(&current->objcg, &old, objcg));

    return objcg;                              // return objcg;
}
