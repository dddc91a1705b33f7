// The attach race of the objcg designs, alone, for the LKMM: one migration of T (the css_set
// move under css_set_lock, then the design's attach callback) against one allocation by T
// (the design's get_obj_cgroup_from_current()). tests/prove/test_objcg_attach_race.py appends
// a design's procedures (models/objcg_vN.dsl without its include line) to this file: the
// designs' own harness (models/harness/objcg.dsl) has atomic blocks of several accesses and
// scenario control through ghosts, which the LKMM does not take yet (docs/lkmm.md).
//
// The C it mirrors, v6.7 (docs/lkmm.md, section 6; docs/harness-kernel-reading.md):
//   cgroup_migrate_execute(): spin_lock_irq(&css_set_lock); css_set_move_task() ->
//   rcu_assign_pointer(task->cgroups, to_cset); spin_unlock_irq(&css_set_lock); then each
//   subsystem's ->attach(): the memory controller's mem_cgroup_kmem_attach(), the design's.
// T starts with objcg_A cached (the update bit clear, the cache's reference held) in memcg A;
// the migration moves it to B. Nothing else runs: no exit, no offline, no other task.
//
// Property: lost_update: at the end, T's cache is not objcg_A without the update bit. Either T
// did not take the bit (the cache is objcg_A|1, to be refreshed by its next allocation) or it
// took the bit after the move to B was visible to it and cached objcg_B; objcg_A with the bit
// clear means T consumed the bit but read the old css_set, and no bit is left to correct it.
// `-D ATTACH_WMB=1` puts smp_wmb() before the attach callback.

width 8;
bound 2;
param ATTACH_WMB = 0;

const CURRENT_OBJCG_UPDATE_FLAG = 0x1;   // #define CURRENT_OBJCG_UPDATE_FLAG 0x1UL
const CURRENT_OBJCG_UPDATE_BIT = 0;      // #define CURRENT_OBJCG_UPDATE_BIT 0
const PF_KTHREAD = 0x20;                 // #define PF_KTHREAD 0x00200000

refcounted struct obj_cgroup {
};

struct mem_cgroup {
    struct obj_cgroup *objcg;            // struct obj_cgroup __rcu *objcg;
    const struct mem_cgroup *parent;     // parent_mem_cgroup(memcg)
};

struct task_struct {
    struct obj_cgroup *objcg;            // struct obj_cgroup *objcg;  (bit 0 = update)
    struct mem_cgroup *cgroup;           // task->cgroups (its css_set's memory css)
    const word flags;                    // task->flags
    word mm;                             // task->mm != NULL
    const struct mem_cgroup *active_memcg;  // task->active_memcg
};

object struct mem_cgroup root_mem_cgroup = { .objcg = NULL, .parent = NULL };
object struct mem_cgroup memcg_A = { .objcg = &objcg_A, .parent = &root_mem_cgroup };
object struct mem_cgroup memcg_B = { .objcg = &objcg_B, .parent = &root_mem_cgroup };
object struct obj_cgroup objcg_A, objcg_B;
object struct task_struct task_T = { .objcg = &objcg_A, .cgroup = &memcg_A, .flags = 0, .mm = 1 };
object struct task_struct task_M = { .objcg = NULL, .cgroup = &root_mem_cgroup, .flags = 0, .mm = 1 };
shared word css_set_lock = 0;            // DEFINE_SPINLOCK(css_set_lock);

proc struct mem_cgroup *mem_cgroup_from_task(struct task_struct *task) {
    return rcu_dereference(task->cgroup);      // mem_cgroup_from_css(task_css(p, memory_cgrp_id))
}

proc struct obj_cgroup *__get_obj_cgroup_from_memcg(struct mem_cgroup *memcg) {
    struct obj_cgroup *objcg = NULL;           // struct obj_cgroup *objcg = NULL;
    for (; memcg != &root_mem_cgroup; memcg = memcg->parent) {  // for (; !mem_cgroup_is_root(memcg); memcg = parent_mem_cgroup(memcg)) {
        objcg = rcu_dereference(memcg->objcg); //     objcg = rcu_dereference(memcg->objcg);
        if (objcg && tryget(objcg))            //     if (objcg && obj_cgroup_tryget(objcg))
            break;                             //         break;
        objcg = NULL;                          //     objcg = NULL;
    }
    return objcg;                              // return objcg;
}

thread T (current = &task_T) {
    get(&objcg_A);                             // the reference the cache holds (taken before this scenario)
    struct obj_cgroup *objcg = get_obj_cgroup_from_current();  // objcg = get_obj_cgroup_from_current();
}

thread MT (current = &task_M) {
    spin_lock(&css_set_lock);                  // spin_lock_irq(&css_set_lock);
    rcu_assign_pointer(task_T.cgroup, &memcg_B);  // css_set_move_task(): rcu_assign_pointer(task->cgroups, to_cset);
    spin_unlock(&css_set_lock);                // spin_unlock_irq(&css_set_lock);
    if (ATTACH_WMB)
        smp_wmb();                             // (the barrier docs/lkmm.md, section 6, proposes)
    mem_cgroup_kmem_attach(&task_T);           // ss->attach(tset) -> mem_cgroup_kmem_attach()
}

final {
    assert(task_T.objcg != &objcg_A, "lost_update");
}
