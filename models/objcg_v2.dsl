// v2 (2023-10-09, the seed): "mm: kmem: add direct objcg pointer to task_struct"
// ../shared/seed/v2-mm-kmem-add-direct-objcg-pointer-to-task_struct.patch.txt
// Models: current_objcg_update(), get_obj_cgroup_from_current(), mem_cgroup_exit(),
// mem_cgroup_kmem_attach(); mem_cgroup_fork() is the harness's initial task->objcg.
// Known defect: attach sets the update bit on `current` (the migrating task), not on the
// migrated `task`, so T keeps charging its old memcg: a lost update (reported 2023-10-11).
// The leak of v3 sits in the same retry loop but is unreachable here: only T sets T's bit,
// so T's try_cmpxchg never fails.
// Scope: the verdicts cover every interleaving of the scenario in harness/objcg.dsl (its header
// lists them: two migrations of T, T's exit in do_exit()'s order, early offline of every memcg,
// the parent walk, late frees, K's separate write), under sequential consistency.
include "harness/objcg.dsl";

proc struct obj_cgroup *current_objcg_update(void) {
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
        rcu_read_lock();                       //     rcu_read_lock();
        memcg = mem_cgroup_from_task(current); //     memcg = mem_cgroup_from_task(current);
        for (; memcg != &root_mem_cgroup; memcg = memcg->parent) {  // for (; memcg != root_mem_cgroup; memcg = parent_mem_cgroup(memcg)) {
            objcg = rcu_dereference(memcg->objcg);  // objcg = rcu_dereference(memcg->objcg);
            if (likely(objcg && tryget(objcg)))     // if (likely(objcg && obj_cgroup_tryget(objcg)))
                break;                         //             break;
            objcg = NULL;                      //         objcg = NULL;
        }                                      //     }
        rcu_read_unlock();                     //     rcu_read_unlock();
    } while (!try_cmpxchg(&current->objcg, &old, objcg));  // } while (!try_cmpxchg(&current->objcg, &old, objcg));

    return objcg;                              // return objcg;
}

proc struct obj_cgroup *get_obj_cgroup_from_current(void) {
    struct mem_cgroup *memcg;                  // struct mem_cgroup *memcg;
    struct obj_cgroup *objcg;                  // struct obj_cgroup *objcg;

    // if (in_task()) {   -- always true here; int_active_memcg is never set
    memcg = current->active_memcg;             //     memcg = current->active_memcg;
    if (unlikely(memcg))                       //     if (unlikely(memcg))
        return __get_obj_cgroup_from_memcg(memcg);  //     goto from_memcg;  (under rcu_read_lock)

    objcg = READ_ONCE(current->objcg);         //     objcg = READ_ONCE(current->objcg);
    if (unlikely((unsigned long)objcg & CURRENT_OBJCG_UPDATE_FLAG))  // if (unlikely((unsigned long)objcg & CURRENT_OBJCG_UPDATE_FLAG))
        objcg = current_objcg_update();        //         objcg = current_objcg_update();

    if (objcg) {                               //     if (objcg) {
        get(objcg);                            //         obj_cgroup_get(objcg);
        return objcg;                          //         return objcg;
    }                                          //     }
    return NULL;                               // return NULL;
}

proc void mem_cgroup_exit(struct task_struct *task) {
    struct obj_cgroup *objcg = task->objcg;    // struct obj_cgroup *objcg = task->objcg;

    objcg = (struct obj_cgroup *)((unsigned long)objcg & ~CURRENT_OBJCG_UPDATE_FLAG);  // objcg = (struct obj_cgroup *)((unsigned long)objcg & ~CURRENT_OBJCG_UPDATE_FLAG);
    if (objcg)                                 // if (objcg)
        put(objcg);                            //     obj_cgroup_put(objcg);
    task->objcg = NULL;                        // task->objcg = NULL;
}

proc void mem_cgroup_kmem_attach(struct task_struct *task) {
    // not modelled: struct task_struct *task;  -- the harness passes the task
    // not modelled: struct cgroup_subsys_state *css;
    // not modelled: cgroup_taskset_for_each(task, css, tset) {  -- the harness calls this once per task
    set_bit(0, &current->objcg);               //     set_bit(0, (unsigned long *)&current->objcg);
}

// What `objcg-prove drift --patch` holds these procedures to: this version's patch text (it was
// never merged, so no kernel tree has it).
mirrors "mm/memcontrol.c" unmerged {
    current_objcg_update;
    get_obj_cgroup_from_current;
    mem_cgroup_exit;
    mem_cgroup_kmem_attach;
}
