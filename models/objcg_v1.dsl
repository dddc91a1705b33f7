// v1 (2023-09-29): "mm: kmem: add direct objcg pointer to task_struct"
// ../shared/seed/v1-mm-kmem-add-direct-objcg-pointer-to-task_struct.patch.txt
// Models: current_objcg_update(old), get_obj_cgroup_from_current(), mem_cgroup_exit(),
// current_objcg_set_needs_update() via mem_cgroup_kmem_attach(); mem_cgroup_fork() is the
// harness's initial task->objcg ((struct obj_cgroup *)0x1).
// Known defects: attach sets the bit on `current`, not on the migrated task (a lost update, and
// kernel threads get charged), and mem_cgroup_exit() puts the cached objcg but leaves
// task->objcg pointing at it. The harness lets T allocate after mem_cgroup_exit() (the kernel
// does: "some kernel allocations can happen after this point"): that allocation reads the stale
// pointer and calls obj_cgroup_get() on an objcg whose last reference may already be gone
// (memcg A went offline meanwhile): `uaf` is violated. v2 clears task->objcg on exit.
// The WARN_ON_ONCE in the update loop is checked as the assertion "WARN_ON_ONCE".
// Scope: the verdicts cover every interleaving of the scenario in harness/objcg.dsl (its header
// lists them: two migrations of T, T's exit in do_exit()'s order, early offline of every memcg,
// the parent walk, late frees, K's separate write), under sequential consistency.
include "harness/objcg.dsl";

proc struct obj_cgroup *current_objcg_update(struct obj_cgroup *old) {
    struct mem_cgroup *memcg;                  // struct mem_cgroup *memcg;
    struct obj_cgroup *objcg = NULL, *tmp = old;  // struct obj_cgroup *objcg = NULL, *tmp = old;

    old = (struct obj_cgroup *)((unsigned long)old & ~0x1);  // old = current_objcg_without_update_flag(old);
    if (old)                                   // if (old)
        put(old);                              //     obj_cgroup_put(old);

    rcu_read_lock();                           // rcu_read_lock();
    do {                                       // do {
        assert(cmpxchg(&current->objcg, tmp, NULL) == tmp, "WARN_ON_ONCE");  // WARN_ON_ONCE(cmpxchg(&current->objcg, tmp, 0) != tmp);
        memcg = mem_cgroup_from_task(current); //     memcg = mem_cgroup_from_task(current);
        for (; memcg != &root_mem_cgroup; memcg = memcg->parent) {  // for (; memcg != root_mem_cgroup; memcg = parent_mem_cgroup(memcg)) {
            objcg = rcu_dereference(memcg->objcg);  // objcg = rcu_dereference(memcg->objcg);
            if (objcg && tryget(objcg))        //         if (objcg && obj_cgroup_tryget(objcg))
                break;                         //             break;
            objcg = NULL;                      //         objcg = NULL;
        }                                      //     }
        tmp = NULL;                            //     tmp = 0;
    } while (!try_cmpxchg(&current->objcg, &tmp, objcg));  // } while (!try_cmpxchg(&current->objcg, &tmp, objcg));
    rcu_read_unlock();                         // rcu_read_unlock();

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
    if (unlikely((unsigned long)objcg & 0x1))  //     if (unlikely(current_objcg_needs_update(objcg)))
        objcg = current_objcg_update(objcg);   //         objcg = current_objcg_update(objcg);

    if (objcg) {                               //     if (objcg) {
        get(objcg);                            //         obj_cgroup_get(objcg);
        return objcg;                          //         return objcg;
    }                                          //     }
    return NULL;                               // return NULL;
}

proc void mem_cgroup_exit(struct task_struct *task) {
    struct obj_cgroup *objcg = (struct obj_cgroup *)((unsigned long)task->objcg & ~0x1);  // struct obj_cgroup *objcg = current_objcg_without_update_flag(task->objcg);

    if (objcg)                                 // if (objcg)
        put(objcg);                            //     obj_cgroup_put(objcg);
}

proc void mem_cgroup_kmem_attach(struct task_struct *task) {
    // not modelled: struct task_struct *task;  -- the harness passes the task
    // not modelled: struct cgroup_subsys_state *css;
    // not modelled: cgroup_taskset_for_each(task, css, tset) {  -- the harness calls this once per task
    set_bit(0, &current->objcg);               // current_objcg_set_needs_update(task);  (inline: set_bit(0, (unsigned long *)&current->objcg);)
}

// What `objcg-prove drift --patch` holds these procedures to: this version's patch text (it was
// never merged, so no kernel tree has it).
mirrors "mm/memcontrol.c" unmerged {
    current_objcg_update;
    get_obj_cgroup_from_current;
    mem_cgroup_exit;
    mem_cgroup_kmem_attach;
}
