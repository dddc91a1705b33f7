// v5 (2023-10-19) = merged as 1aacbd354313 (v6.7): "mm: kmem: add direct objcg pointer to task_struct"
// ../shared/seed/v5-mm-kmem-add-direct-objcg-pointer-to-task_struct.patch.txt
// Models: current_objcg_update(), get_obj_cgroup_from_current(), mem_cgroup_exit(),
// mem_cgroup_kmem_attach(); mem_cgroup_fork() is the harness's initial task->objcg.
// Relative to v2: puts the reference of an iteration whose try_cmpxchg() failed, sets the
// update bit on the migrated `task`, and returns NULL early for kernel threads and tasks
// without mm. No defect is known.
// Mutants that survive (`objcg-prove mutate`: 8 mutants, 6 killed; both survivors equivalent):
// - xchg() in current_objcg_update() as a plain read and write: the update path only runs
//   when the update bit is set, and the only other writer of current->objcg meanwhile is
//   set_bit() (exit runs in T itself), which cannot change a value whose bit is already set;
// - `task->objcg = NULL` before obj_cgroup_put() in mem_cgroup_exit(): it runs after
//   PF_EXITING, and migration skips PF_EXITING tasks (cgroup_migrate_add_task()), so no
//   set_bit() reaches task->objcg any more, and nothing reads the pointer to decide on the
//   refcount (the interpreter hits its state limit before it can confirm either one).
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

        if (!current->mm || (current->flags & PF_KTHREAD))  // if (!current->mm || (current->flags & PF_KTHREAD))
            return NULL;                       //         return NULL;

        if (unlikely(objcg)) {                 //     if (unlikely(objcg)) {
            put(objcg);                        //         obj_cgroup_put(objcg);
            objcg = NULL;                      //         objcg = NULL;
        }                                      //     }

        rcu_read_lock();                       //     rcu_read_lock();
        memcg = mem_cgroup_from_task(current); //     memcg = mem_cgroup_from_task(current);
        objcg = __get_obj_cgroup_from_memcg(memcg);  // objcg = __get_obj_cgroup_from_memcg(memcg);
        rcu_read_unlock();                     //     rcu_read_unlock();
    } while (!try_cmpxchg(&current->objcg, &old, objcg));  // } while (!try_cmpxchg(&current->objcg, &old, objcg));

    return objcg;                              // return objcg;
}

proc struct obj_cgroup *get_obj_cgroup_from_current(void) {
    struct mem_cgroup *memcg;                  // struct mem_cgroup *memcg;
    struct obj_cgroup *objcg;                  // struct obj_cgroup *objcg;

    // not modelled: if (in_task())  -- always true here; int_active_memcg is never set
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
    // not modelled: memcg = this_cpu_read(int_active_memcg);  -- the else branch: not in a task
    // not modelled: if (unlikely(memcg))
    // not modelled: goto from_memcg;
    return NULL;                               // return NULL;
    // not modelled: from_memcg:  -- the goto above is the return of __get_obj_cgroup_from_memcg()
    // not modelled: rcu_read_lock();
    // not modelled: objcg = __get_obj_cgroup_from_memcg(memcg);
    // not modelled: rcu_read_unlock();
    // not modelled: return objcg;
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
    set_bit(CURRENT_OBJCG_UPDATE_BIT, &task->objcg);  // set_bit(CURRENT_OBJCG_UPDATE_BIT, (unsigned long *)&task->objcg);
}

// What `objcg-prove drift` holds these procedures to: the functions of v6.7's mm/memcontrol.c
// (a kernel tree), or of this patch's hunks (drift --patch).
mirrors "mm/memcontrol.c" {
    current_objcg_update;
    get_obj_cgroup_from_current;
    mem_cgroup_exit;
    mem_cgroup_kmem_attach;
}
