// v4 (2023-10-18): v3 plus, at the top of each iteration of the update loop,
// "if (objcg) { obj_cgroup_put(objcg); objcg = NULL; }" (../shared/seed/README.md).
// Models the same functions as objcg_v2.dsl.
// Known defect: a behaviour change for kernel threads. Before the patch, a kernel thread (or a
// task without mm) was never charged; here a kernel thread moved out of the root cgroup runs
// the update on its next allocation and gets charged (fixed in v5).
// Scope: the verdicts cover every interleaving of the scenario in harness/objcg.dsl (its header
// lists them: two migrations of T, T's exit in do_exit()'s order, early offline of every memcg,
// the parent walk, late frees, K's separate write), under sequential consistency.
include "harness/objcg.dsl";

proc struct obj_cgroup *current_objcg_update(void) {
    struct mem_cgroup *memcg;                  // struct mem_cgroup *memcg;
    struct obj_cgroup *old, *objcg = NULL;     // struct obj_cgroup *old, *objcg = NULL;

    do {                                       // do {
        if (objcg) {                           //     if (objcg) {
            put(objcg);                        //         obj_cgroup_put(objcg);
            objcg = NULL;                      //         objcg = NULL;
        }                                      //     }
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
    set_bit(0, &task->objcg);                  //     set_bit(0, (unsigned long *)&task->objcg);
}

// What `objcg-prove drift` would hold these procedures to. This version was never posted: it is
// reconstructed from the review of v2 (../shared/seed/README.md), so there is no C text to check.
mirrors "mm/memcontrol.c" reconstructed {
    current_objcg_update;
    get_obj_cgroup_from_current;
    mem_cgroup_exit;
    mem_cgroup_kmem_attach;
}
