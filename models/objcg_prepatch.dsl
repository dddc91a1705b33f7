// Pre-patch (before "mm: kmem: add direct objcg pointer to task_struct"): the `-` lines of
// every version of the patch. Each allocation looks up the task's memcg under RCU and trygets
// its objcg, walking to the parent when that fails; kernel threads and tasks without mm are
// not charged. There is no task->objcg cache, so attach and exit do nothing for kmem.
// Scope: the verdicts cover every interleaving of the scenario in harness/objcg.dsl (its header
// lists them: two migrations of T, T's exit in do_exit()'s order, early offline of every memcg,
// the parent walk, late frees, K's separate write), under sequential consistency.
include "harness/objcg.dsl";

proc struct obj_cgroup *get_obj_cgroup_from_current(void) {
    struct mem_cgroup *memcg;                  // struct mem_cgroup *memcg;
    struct obj_cgroup *objcg;                  // struct obj_cgroup *objcg;

    // if (in_task()) {   -- always true here; int_active_memcg is never set
    memcg = current->active_memcg;             //     memcg = current->active_memcg;
    if (likely(!memcg) && (!current->mm || (current->flags & PF_KTHREAD)))  // if (likely(!memcg) && (!current->mm || (current->flags & PF_KTHREAD)))
        return NULL;                           //         return NULL;

    rcu_read_lock();                           // rcu_read_lock();
    if (!memcg)                                // if (!memcg)
        memcg = mem_cgroup_from_task(current); //     memcg = mem_cgroup_from_task(current);
    objcg = __get_obj_cgroup_from_memcg(memcg);  // objcg = __get_obj_cgroup_from_memcg(memcg);
    rcu_read_unlock();                         // rcu_read_unlock();
    return objcg;                              // return objcg;
}

proc void mem_cgroup_exit(struct task_struct *task) {
    // no ss->exit hook for kmem before the patch
}

proc void mem_cgroup_kmem_attach(struct task_struct *task) {
    // no kmem attach before the patch
}
