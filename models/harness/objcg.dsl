// The checking scenario shared by every design of
// "mm: kmem: add direct objcg pointer to task_struct" (../shared/seed/).
//
// Each design file (models/objcg_*.dsl) includes this harness and defines the design's
//   get_obj_cgroup_from_current(), mem_cgroup_kmem_attach(task) and mem_cgroup_exit(task),
// so every design is checked on exactly the same scenario:
//   T  a user task forked into memcg A (mem_cgroup_fork() left the update flag set), which
//      allocates ALLOCS times (each object charged, then freed), exits, and makes one more
//      allocation after mem_cgroup_exit() ("some kernel allocations can happen after this point");
//   K  a kernel thread (PF_KTHREAD, no mm) in the root cgroup: one allocation, then exit;
//   M  a different task (its own cache) that migrates T from memcg A to B and K from the root
//      to B, running the design's ->attach() for each, as when a shell writes a pid into
//      cgroup.procs;
//   O  memcg A goes offline after the migration; once T and K are gone, memcg B goes offline.
// Each memcg holds its objcg's initial reference (every refcounted object starts at 1).
//
// Properties stated here:
//   lost_update      an allocation by T that starts after the attach of T completed must charge
//                    objcg_B (B stays online while T lives, so that is the objcg of T's memcg);
//   kthread_charged  a kernel thread's allocation charges nothing;
//   leak             (built in) at the end every objcg count is 0: all is torn down.

width 16;
bound 2;                         // the update loop retries at most once per migration
param ALLOCS = 2;                // a lost update needs two allocations by T

const CURRENT_OBJCG_UPDATE_FLAG = 0x1;   // #define CURRENT_OBJCG_UPDATE_FLAG 0x1UL
const CURRENT_OBJCG_UPDATE_BIT = 0;      // #define CURRENT_OBJCG_UPDATE_BIT 0
const PF_KTHREAD = 0x20;                 // #define PF_KTHREAD 0x00200000 (flags never change here)

refcounted struct obj_cgroup {           // struct obj_cgroup { struct percpu_ref refcnt; ... }
    // objcg->memcg is moved to the parent on reparenting; nothing in this scenario reads it.
};

struct mem_cgroup {
    struct obj_cgroup *objcg;            // struct obj_cgroup __rcu *objcg;
    const struct mem_cgroup *parent;     // parent_mem_cgroup(memcg)
};

struct task_struct {
    struct obj_cgroup *objcg;            // struct obj_cgroup *objcg;  (the patch; bit 0 = update)
    struct mem_cgroup *cgroup;           // mem_cgroup_from_task(task): the task's css_set
    const word flags;                    // task->flags
    const word mm;                       // task->mm != NULL
    const struct mem_cgroup *active_memcg;  // task->active_memcg: no remote charging here
};

object struct mem_cgroup root_mem_cgroup = { .objcg = NULL, .parent = NULL };
object struct mem_cgroup memcg_A = { .objcg = &objcg_A, .parent = &root_mem_cgroup };
object struct mem_cgroup memcg_B = { .objcg = &objcg_B, .parent = &root_mem_cgroup };
object struct obj_cgroup objcg_A, objcg_B;

// mem_cgroup_fork(): task->objcg = (struct obj_cgroup *)CURRENT_OBJCG_UPDATE_FLAG;
// (the pre-patch design has no task->objcg and never reads the field)
object struct task_struct task_T = { .objcg = CURRENT_OBJCG_UPDATE_FLAG, .cgroup = &memcg_A, .flags = 0, .mm = 1 };
object struct task_struct task_M = { .objcg = CURRENT_OBJCG_UPDATE_FLAG, .cgroup = &memcg_A, .flags = 0, .mm = 1 };
object struct task_struct task_K = { .objcg = CURRENT_OBJCG_UPDATE_FLAG, .cgroup = &root_mem_cgroup,
                                     .flags = PF_KTHREAD, .mm = 0 };

// Migration cannot overlap a task's exit (cgroup_threadgroup_rwsem and PF_EXITING): a lock here.
shared word cgroup_threadgroup_rwsem = 0;

ghost word T_exiting = 0, K_exiting = 0;   // PF_EXITING: a task that exits is not migrated
ghost word T_attached = 0;                 // the attach of T has completed
ghost word M_done = 0, T_done = 0, K_done = 0;

// ---- kernel functions every design uses, as they were before the patch ---------------------

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

proc void memcg_offline_kmem(struct mem_cgroup *memcg) {
    struct obj_cgroup *objcg = xchg(&memcg->objcg, NULL);  // objcg = rcu_replace_pointer(memcg->objcg, NULL, true);
    // memcg_reparent_objcgs(memcg, parent): objcg->memcg = parent (not read in this scenario)
    kill(objcg);                               // percpu_ref_kill(&objcg->refcnt);
}

// ---- the scenario ---------------------------------------------------------------------------

thread T (current = &task_T) {
    for (word i = 0; i < ALLOCS; i++) {
        word after_attach = T_attached;        // did the attach of T complete before this allocation?
        struct obj_cgroup *objcg = get_obj_cgroup_from_current();  // objcg = get_obj_cgroup_from_current();
        lost_update(!after_attach || objcg == &objcg_B, "lost_update");
        if (objcg)
            put(objcg);                        // the object is freed: obj_cgroup_put(objcg);
    }
    spin_lock(&cgroup_threadgroup_rwsem);      // do_exit() -> cgroup_exit(): no migration meanwhile
    T_exiting = 1;                             // PF_EXITING
    mem_cgroup_exit(current);                  // ss->exit(tsk)
    spin_unlock(&cgroup_threadgroup_rwsem);
    struct obj_cgroup *late = get_obj_cgroup_from_current();  // an allocation after mem_cgroup_exit()
    if (late)
        put(late);                             // obj_cgroup_put(objcg);
    T_done = 1;
}

thread K (current = &task_K) {
    struct obj_cgroup *objcg = get_obj_cgroup_from_current();  // objcg = get_obj_cgroup_from_current();
    assert(objcg == NULL, "kthread_charged");  // kernel threads are not charged
    if (objcg)
        put(objcg);                            // obj_cgroup_put(objcg);
    spin_lock(&cgroup_threadgroup_rwsem);      // cgroup_exit()
    K_exiting = 1;                             // PF_EXITING
    mem_cgroup_exit(current);                  // ss->exit(tsk)
    spin_unlock(&cgroup_threadgroup_rwsem);
    K_done = 1;
}

thread M (current = &task_M) {
    spin_lock(&cgroup_threadgroup_rwsem);      // cgroup_attach_task(): percpu_down_write(&cgroup_threadgroup_rwsem)
    word t_exiting = T_exiting;
    if (!t_exiting) {
        WRITE_ONCE(task_T.cgroup, &memcg_B);   // css_set_move_task(): T now belongs to memcg B
        mem_cgroup_kmem_attach(&task_T);       // ss->attach(tset): the design under test
        T_attached = 1;
    }
    word k_exiting = K_exiting;
    if (!k_exiting) {
        WRITE_ONCE(task_K.cgroup, &memcg_B);   // css_set_move_task(): K leaves the root cgroup
        mem_cgroup_kmem_attach(&task_K);       // ss->attach(tset)
    }
    spin_unlock(&cgroup_threadgroup_rwsem);    // percpu_up_write(&cgroup_threadgroup_rwsem)
    M_done = 1;
}

thread O {
    await(M_done);                             // memcg A goes offline after the migration
    memcg_offline_kmem(&memcg_A);              // mem_cgroup_css_offline(A)
    await(T_done);
    await(K_done);
    memcg_offline_kmem(&memcg_B);              // mem_cgroup_css_offline(B): everything torn down
}

// ---- the common path ------------------------------------------------------------------------
// Not part of the scenario: the allocation a design discussion counts the cost of. T allocates
// with its objcg cached (objcg_A, whose reference the cache holds) and the update bit clear;
// `objcg-prove compare` counts the atomic read-modify-writes, shared loads and shared stores of
// get_obj_cgroup_from_current() from that state (docs/dsl.md, "common_path").
common_path allocation (current = &task_T) given {
    get(&objcg_A);                             // the reference task->objcg holds
    task_T.objcg = &objcg_A;                   // cached, CURRENT_OBJCG_UPDATE_FLAG clear
} {
    struct obj_cgroup *objcg = get_obj_cgroup_from_current();  // objcg = get_obj_cgroup_from_current();
}
