// The checking scenario shared by every design of
// "mm: kmem: add direct objcg pointer to task_struct" (../shared/seed/).
//
// Each design file (models/objcg_*.dsl) includes this harness and defines the design's
//   get_obj_cgroup_from_current(), mem_cgroup_kmem_attach(task) and mem_cgroup_exit(task),
// so every design is checked on exactly the same scenario. The kernel code it follows is v6.7
// (kernel/exit.c do_exit(), kernel/cgroup/cgroup.c cgroup_procs_write() /
// cgroup_migrate_execute() / css_set_move_task() / cgroup_exit() / cgroup_rmdir(),
// mm/memcontrol.c), as read in the Linux tree at 5ab3ecd497440eb70b966032a11c0ea01804d0ec,
// where the functions used here are unchanged in what this scenario depends on except where a
// comment says otherwise.
//
// The hierarchy: root -> P -> {A, B, C}; P, A, B and C each have an objcg, whose initial
// reference the memcg holds until it goes offline (every refcounted object starts at 1).
//
// The threads (every interleaving of their steps is explored):
//   T   a user task forked into memcg A (mem_cgroup_fork() left the update flag set). It makes
//       ALLOCS allocations while it runs, then exits in do_exit()'s order, allocating in every
//       window: PF_EXITING set under cgroup_threadgroup_rwsem (exit_signals()), one
//       allocation; exit_mm() (task->mm becomes NULL), one allocation; cgroup_exit() (T leaves
//       its memcg, then ss->exit() = mem_cgroup_exit() without the rwsem), one allocation.
//       Each allocation's objcg reference is handed to F, as a slab object keeps its objcg.
//   K   a kernel thread (PF_KTHREAD, no mm) in the root cgroup: KALLOCS allocations, then exit
//       (PF_EXITING under the rwsem, cgroup_exit()).
//   MT  writes T's pid into cgroup.procs MIGRATIONS times, one write after another: A -> B,
//       B -> C, and with MIGRATIONS = 3 back to A. Each write is a full attach under
//       cgroup_mutex and the rwsem; it fails when the destination was removed, and skips T
//       once T is PF_EXITING (cgroup_migrate_add_task()).
//   MK  writes K's pid into B's cgroup.procs: a separate write, so in either order with MT's.
//   F   frees T's objects in allocation order, each at any time after its allocation (also
//       after T exited and after its memcg went offline): obj_cgroup_put() of the reference.
//   OA, OB, OC, OP   rmdir of A, B, C and P as early as the kernel permits it: as soon as the
//       memcg has no task (P: no child), under cgroup_mutex, followed by the offline
//       (memcg_offline_kmem()). A memcg is removed when T has left it for good; its cgroup.procs
//       writes fail from then on.
//
// Every dimension above is in the default configuration (MIGRATIONS = 2, ALLOCS = 1,
// KALLOCS = 2): two migrations racing an update loop and its retries, T's allocations in each
// exit window, early offline of every memcg, the parent walk reaching P, late frees, and K's
// separate write. `-D MIGRATIONS=3 -D ALLOCS=2 -D KALLOCS=3` widens each of them.
//
// The synchronisation is the kernel's, lock by lock (docs/harness-kernel-reading.md has the C
// read for each): cgroup_mutex, cgroup_threadgroup_rwsem and css_set_lock are lock words taken
// with spin_lock(); task->cgroups is stored with rcu_assign_pointer() under css_set_lock and read
// with rcu_dereference(); PF_EXITING is a task field set under the rwsem's read side and read
// under its write side and css_set_lock; memcg->objcg is replaced as rcu_replace_pointer() does
// (a plain read, then WRITE_ONCE() of NULL). The ghosts (T_cg, entered_at, T_attached, T_left,
// removed, ...) are the scenario's bookkeeping, updated in the step of the real access they
// describe. Under the LKMM a step's accesses are events in program order, so where a ghost
// stands in its step matters: one that a reader reads after reading the real access
// (entered_at, by T's lost_update check) is written before the release store that publishes
// it; one that tells a reader the access was made (T_cg, T_left, T_attached) after it; a
// ghost the kernel reads under a lock is read after the lock is taken (the rmdir's check). Where
// nothing in the kernel orders a ghost with the access a reader sees (removed[] and the
// WRITE_ONCE() of memcg->objcg), the reader records what it saw (T_saw_offline).
//
// Memory models. The verdicts recorded in proofs/ are under sequential consistency: every
// interleaving of the steps above, no reordering. Under `--memory-model lkmm` the same model is
// checked with the Linux-kernel memory model; there, the locks are spinlocks as lock.cat defines
// them. For the percpu rwsem that is weaker than the kernel (its write side is a fully ordered
// xchg() and RCU grace periods: docs/harness-kernel-reading.md, section 3), so no ordering is
// assumed that the kernel lacks; for cgroup_mutex it assumes that mutex_lock()/mutex_unlock()
// order what spin_lock()/spin_unlock() do (the LKMM models no mutex). The offline runs in the
// rmdir's critical section, with no RCU grace period before it, which is weaker than the kernel
// (section 1.8) and so again assumes nothing.
//
// What is not in the scenario: the percpu rwsem's readers exclude each other here (a lock), which
// only orders T's and K's PF_EXITING stores; cgroup_migrate() and cgroup_migrate_execute() take
// css_set_lock twice in the kernel, once here (between them only K's cgroup_exit() could take
// it, and it touches nothing of T); memcg->orig_objcg's extra reference (the kernel's objcg
// lives until its memcg is freed; here it may be released at the offline, which is stricter);
// F frees in allocation order; objcg->memcg, its reparenting and objcg_lock are not read by any
// design.
//
// Extension points (docs/dsl.md, "replace and extend"). A design includes this file and defines:
//   proc struct obj_cgroup *get_obj_cgroup_from_current(void)   called by T (each allocation,
//        also after mem_cgroup_exit()), by K, and by the common path; returns a reference that
//        the caller (T through F, or K) puts;
//   proc void mem_cgroup_kmem_attach(struct task_struct *task)  called by MT and MK under
//        cgroup_mutex and cgroup_threadgroup_rwsem, after task->cgroup was moved;
//   proc void mem_cgroup_exit(struct task_struct *task)         called by T and K in cgroup_exit(),
//        after PF_EXITING and after the task left its memcg, without the rwsem.
// It may call mem_cgroup_from_task() and __get_obj_cgroup_from_memcg(), and may `replace`
// memcg_offline_kmem() (a design that changes offlining) or the fork state OBJCG_AT_FORK.
// The harness reads and writes task->cgroup (moved by MT and MK only), memcg->objcg (xchg'd to
// NULL at offline), memcg->parent, task->mm (cleared by exit_mm()) and the objcg refcounts; the
// ghosts are the scenario's and a design never writes them. The harness never reads
// task->objcg: that field, and any other cache state, belong to the design. A design with
// another cache layout may `extend struct task_struct` / `mem_cgroup` / `obj_cgroup` with its
// fields and initialise them with `extend object struct task_struct task_T = { .f = v };`
// without copying the scenario's objects.
//
// Properties stated here:
//   lost_update      an allocation by T that starts after the k-th attach of T completed must
//                    charge the objcg of the memcg of the k-th or a later move; the parent's
//                    objcg when that memcg has since gone offline; NULL only once T has no mm;
//   kthread_charged  a kernel thread's allocation charges nothing;
//   leak             (built in) at the end every objcg count is 0: all is torn down.

width 8;
bound MIGRATIONS + 1;            // the update loop retries at most once per migration
param MIGRATIONS = 2;            // writes of T's pid: A -> B, B -> C (1 to 3; 3: and back to A)
param ALLOCS = 1;                // allocations by T while it runs, before do_exit()
param KALLOCS = 2;               // allocations by the kernel thread K
param EXIT_ALLOCS = 1;           // 1: T allocates while PF_EXITING and after exit_mm() (0: not)
param LATE_FREES = 1;            // 1: F drops T's references some time later (0: T at once)
param EARLY_OFFLINE = 1;         // 1: each memcg is removed once empty (0: once MT and MK are done)
param ATTACH_WMB = 0;            // 1: smp_wmb() before each attach callback (docs/lkmm.md, section 6)

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
    word mm;                             // task->mm != NULL (exit_mm() clears it)
    word exiting;                        // task->flags & PF_EXITING (set by exit_signals())
    const struct mem_cgroup *active_memcg;  // task->active_memcg: no remote charging here
};

object struct mem_cgroup root_mem_cgroup = { .objcg = NULL, .parent = NULL };
object struct mem_cgroup memcg_P = { .objcg = &objcg_P, .parent = &root_mem_cgroup };
object struct mem_cgroup memcg_A = { .objcg = &objcg_A, .parent = &memcg_P };
object struct mem_cgroup memcg_B = { .objcg = &objcg_B, .parent = &memcg_P };
object struct mem_cgroup memcg_C = { .objcg = &objcg_C, .parent = &memcg_P };
object struct obj_cgroup objcg_P, objcg_A, objcg_B, objcg_C;

// mem_cgroup_fork(): task->objcg = (struct obj_cgroup *)CURRENT_OBJCG_UPDATE_FLAG;
// (the pre-patch design has no task->objcg and never reads the field)
const OBJCG_AT_FORK = CURRENT_OBJCG_UPDATE_FLAG;
object struct task_struct task_T = { .objcg = OBJCG_AT_FORK, .cgroup = &memcg_A, .flags = 0, .mm = 1 };
object struct task_struct task_M = { .objcg = OBJCG_AT_FORK, .cgroup = &root_mem_cgroup, .flags = 0, .mm = 1 };
object struct task_struct task_K = { .objcg = OBJCG_AT_FORK, .cgroup = &root_mem_cgroup,
                                     .flags = PF_KTHREAD, .mm = 0 };

// The locks, as spinlocks (the header says what that assumes under the LKMM).
shared word cgroup_mutex = 0;              // cgroup_lock(): cgroup.procs writes and rmdir
shared word cgroup_threadgroup_rwsem = 0;  // percpu_down_write() by migration; readers: exit_signals()
shared word css_set_lock = 0;              // spin_lock_irq(&css_set_lock)

// ---- bookkeeping for the properties and the scenario (not in the C) ----------------------
const ROOT = 0;                                // memcg numbers, for the arrays below
const P = 1;
const A = 2;
const B = 3;
const C = 4;
ghost struct mem_cgroup *memcg_of[5] = { &root_mem_cgroup, &memcg_P, &memcg_A, &memcg_B, &memcg_C };
ghost word removed[5] = 0;                     // rmdir done: cgroup.procs writes fail
ghost word T_saw_offline[5] = 0;               // T's lookup went past the memcg: its objcg NULL or dead
ghost word entered_at[5] = 0;                  // T's memcg since which attach (A: since fork)
ghost word T_cg = A, K_cg = ROOT;              // the memcg each task is in
ghost word T_attached = 0;                     // attaches of T completed so far
ghost word T_left = 0, K_left = 0;             // cgroup_exit() moved the task out of its memcg
ghost word writes_done = 0;                    // MT and MK finished (EARLY_OFFLINE = 0 only)
ghost struct obj_cgroup *charged[ALLOCS + 3] = NULL;   // the objcg each allocation of T charged
ghost word allocated[ALLOCS + 3] = 0;                  // ... once the allocation returned

// ---- kernel functions every design uses, as they were before the patch ---------------------

proc struct mem_cgroup *mem_cgroup_from_task(struct task_struct *task) {
    return rcu_dereference(task->cgroup);      // mem_cgroup_from_css(task_css(p, memory_cgrp_id))
}

proc struct obj_cgroup *__get_obj_cgroup_from_memcg(struct mem_cgroup *memcg) {
    struct obj_cgroup *objcg = NULL;           // struct obj_cgroup *objcg = NULL;
    for (; memcg != &root_mem_cgroup; memcg = memcg->parent) {  // for (; !mem_cgroup_is_root(memcg); memcg = parent_mem_cgroup(memcg)) {
        objcg = rcu_dereference(memcg->objcg); //     objcg = rcu_dereference(memcg->objcg);
        word got;
        atomic {                               //     if (objcg && obj_cgroup_tryget(objcg))
            got = objcg && tryget(objcg);
            if (!got && current == &task_T)    // the scenario's bookkeeping: T has seen memcg's offline
                T_saw_offline[memcg == &memcg_P ? P : memcg == &memcg_A ? A : memcg == &memcg_B ? B : C] = 1;
        }
        if (got)
            break;                             //         break;
        objcg = NULL;                          //     objcg = NULL;
    }
    return objcg;                              // return objcg;
}

proc void memcg_offline_kmem(struct mem_cgroup *memcg) {
    // memcg_reparent_objcgs(): objcg = rcu_replace_pointer(memcg->objcg, NULL, true); which is
    struct obj_cgroup *objcg = memcg->objcg;   //   rcu_dereference_protected(memcg->objcg, true) (plain: under cgroup_mutex)
    WRITE_ONCE(memcg->objcg, NULL);            //   rcu_assign_pointer(memcg->objcg, NULL): NULL is stored with WRITE_ONCE()
    // memcg_reparent_objcgs(memcg, parent): objcg->memcg = parent (not read in this scenario)
    kill(objcg);                               // percpu_ref_kill(&objcg->refcnt);
}

// rmdir of a memcg with no task (and for P no child), as early as that holds, and its offline.
proc void cgroup_rmdir(word cg) {
    atomic {                                   // cgroup_rmdir(): cgroup_kn_lock_live() -> cgroup_lock()
        // cgroup_destroy_locked(): -EBUSY while populated; the scenario's rmdir is the one that
        // succeeds: it takes the lock once the memcg is empty (ghosts, read in the same step)
        await((T_left || T_cg != cg) && (K_left || K_cg != cg));
        spin_lock(&cgroup_mutex);              //   cgroup_lock()
        // cgroup_destroy_locked(): if (cgroup_is_populated(cgrp)) return -EBUSY; the kernel
        // reads it under the lock. The wait above reads first, so under the LKMM it may read
        // an older value; read again after the lock's acquire (one step: the same values
        // under sequential consistency)
        assume((T_left || T_cg != cg) && (K_left || K_cg != cg));
        removed[cg] = 1;                       //   kill_css(): cgroup.procs writes fail from now on
    }
    memcg_offline_kmem(memcg_of[cg]);          // css_killed_work_fn() -> mem_cgroup_css_offline()
    spin_unlock(&cgroup_mutex);                // cgroup_unlock()
}

// ---- the scenario ---------------------------------------------------------------------------

// One allocation by T: the charge, the lost-update check, and the hand-over to F.
proc void allocate_T(word slot, word no_mm) {
    word k = T_attached;                       // attaches of T completed before this allocation
    struct obj_cgroup *objcg = get_obj_cgroup_from_current();  // objcg = get_obj_cgroup_from_current();
    atomic {                                   // the check and the hand-over: one step
        lost_update(k == 0
                    || (objcg == NULL ? no_mm
                        : objcg == &objcg_A ? entered_at[A] >= k
                        : objcg == &objcg_B ? entered_at[B] >= k
                        : objcg == &objcg_C ? entered_at[C] >= k
                        : objcg == &objcg_P && ((entered_at[A] >= k && (removed[A] || T_saw_offline[A]))
                                               || (entered_at[B] >= k && (removed[B] || T_saw_offline[B]))
                                               || (entered_at[C] >= k && (removed[C] || T_saw_offline[C])))),
                    "lost_update");
        if (LATE_FREES) {
            charged[slot] = objcg;                 // the object keeps its objcg until F frees it
            allocated[slot] = 1;
        }
    }
    if (!LATE_FREES && objcg)
        put(objcg);                            // the object is freed at once: obj_cgroup_put(objcg);
}

thread T (current = &task_T) {
    for (word i = 0; i < ALLOCS; i++)
        allocate_T(i, 0);
    // do_exit()
    spin_lock(&cgroup_threadgroup_rwsem);      // exit_signals(): cgroup_threadgroup_change_begin(tsk)
    current->exiting = 1;                      //   tsk->flags |= PF_EXITING;
    spin_unlock(&cgroup_threadgroup_rwsem);    //   cgroup_threadgroup_change_end(tsk)
    if (EXIT_ALLOCS)
        allocate_T(ALLOCS, 0);                 // an allocation while PF_EXITING, mm still there
    current->mm = 0;                           // exit_mm(): current->mm = NULL;
    if (EXIT_ALLOCS)
        allocate_T(ALLOCS + 1, 1);             // an allocation without mm
    atomic {                                   // cgroup_exit(): css_set_move_task(tsk, cset, NULL, false)
        spin_lock(&css_set_lock);              //   spin_lock_irq(&css_set_lock);
        T_left = 1;                            //   cset->nr_tasks--: the memcg may go offline now
    }
    spin_unlock(&css_set_lock);                //   spin_unlock_irq(&css_set_lock);
    mem_cgroup_exit(current);                  // ss->exit(tsk), without the rwsem
    allocate_T(ALLOCS + 2, 1);                 // "some kernel allocations can happen after this point"
}

thread K (current = &task_K) {
    for (word i = 0; i < KALLOCS; i++) {
        struct obj_cgroup *objcg = get_obj_cgroup_from_current();  // objcg = get_obj_cgroup_from_current();
        assert(objcg == NULL, "kthread_charged");  // kernel threads are not charged
        if (objcg)
            put(objcg);                        // obj_cgroup_put(objcg);
    }
    spin_lock(&cgroup_threadgroup_rwsem);      // exit_signals(): cgroup_threadgroup_change_begin(tsk)
    current->exiting = 1;                      //   tsk->flags |= PF_EXITING;
    spin_unlock(&cgroup_threadgroup_rwsem);    //   cgroup_threadgroup_change_end(tsk)
    atomic {                                   // cgroup_exit(): css_set_move_task(tsk, cset, NULL, false)
        spin_lock(&css_set_lock);              //   spin_lock_irq(&css_set_lock);
        K_left = 1;                            //   cset->nr_tasks--
    }
    spin_unlock(&css_set_lock);                //   spin_unlock_irq(&css_set_lock);
    mem_cgroup_exit(current);                  // ss->exit(tsk)
}

// One write of T's pid into cgroup.procs of memcg `dst`: cgroup_procs_write().
proc void migrate_T(word dst) {
    word dead, exiting;
    atomic {                                   // cgroup_kn_lock_live(): fails once dst was removed
        spin_lock(&cgroup_mutex);              //   cgroup_lock()
        dead = removed[dst];                   //   the scenario's record of the rmdir (a ghost)
    }
    if (!dead) {
        spin_lock(&cgroup_threadgroup_rwsem);  // cgroup_procs_write_start(): percpu_down_write()
        // cgroup_attach_task() -> cgroup_migrate() and cgroup_migrate_execute(): two
        // css_set_lock sections in the kernel, one here (only K's cgroup_exit() could come
        // between them, and it touches nothing of T)
        spin_lock(&css_set_lock);              // cgroup_migrate(): spin_lock_irq(&css_set_lock)
        exiting = task_T.exiting;              // cgroup_migrate_add_task(): if (task->flags & PF_EXITING) return;
        if (!exiting) {
            atomic {                           // cgroup_migrate_execute() -> css_set_move_task():
                // the scenario's bookkeeping, with the move. Under the LKMM the block's accesses
                // are events in this order: entered_at, which T's lost_update check reads after
                // reading the css_set, is written before the store, whose release publishes it;
                // T_cg, which the rmdir reads to know the store was made, after it
                entered_at[dst] = T_attached + 1;
                rcu_assign_pointer(task_T.cgroup, memcg_of[dst]);  // rcu_assign_pointer(task->cgroups, to_cset)
                T_cg = dst;
            }
        }
        spin_unlock(&css_set_lock);            // spin_unlock_irq(&css_set_lock)
        if (ATTACH_WMB)
            smp_wmb();                         // not in the kernel: the fix docs/lkmm.md proposes
        if (!exiting)
            mem_cgroup_kmem_attach(&task_T);   // ss->attach(tset): the design under test
        atomic {                               // cgroup_procs_write_finish(): percpu_up_write()
            spin_unlock(&cgroup_threadgroup_rwsem);  // percpu_up_write(&cgroup_threadgroup_rwsem)
            if (!exiting)
                T_attached++;                  // the attach of T has completed (a ghost)
        }
    }
    spin_unlock(&cgroup_mutex);                // cgroup_kn_unlock()
}

thread MT (current = &task_M) {
    migrate_T(B);                              // A -> B
    if (MIGRATIONS >= 2)
        migrate_T(C);                          // B -> C
    if (MIGRATIONS >= 3)
        migrate_T(A);                          // C -> A
    if (!EARLY_OFFLINE)
        writes_done++;
}

thread MK (current = &task_M) {
    word dead, exiting;
    atomic {                                   // cgroup_kn_lock_live() on B
        spin_lock(&cgroup_mutex);              //   cgroup_lock()
        dead = removed[B];
    }
    if (!dead) {
        spin_lock(&cgroup_threadgroup_rwsem);  // percpu_down_write()
        spin_lock(&css_set_lock);              // cgroup_migrate(), cgroup_migrate_execute()
        exiting = task_K.exiting;              // cgroup_migrate_add_task()
        if (!exiting) {
            atomic {                           // css_set_move_task(): K leaves the root cgroup
                rcu_assign_pointer(task_K.cgroup, &memcg_B);   // rcu_assign_pointer(task->cgroups, to_cset)
                K_cg = B;
            }
        }
        spin_unlock(&css_set_lock);            // spin_unlock_irq(&css_set_lock)
        if (ATTACH_WMB)
            smp_wmb();                         // not in the kernel: the fix docs/lkmm.md proposes
        if (!exiting)
            mem_cgroup_kmem_attach(&task_K);   // ss->attach(tset)
        spin_unlock(&cgroup_threadgroup_rwsem);  // percpu_up_write()
    }
    spin_unlock(&cgroup_mutex);                // cgroup_kn_unlock()
    if (!EARLY_OFFLINE)
        writes_done++;
}

thread F {
    for (word s = 0; LATE_FREES && s < ALLOCS + 3; s++) {
        if (!EXIT_ALLOCS && (s == ALLOCS || s == ALLOCS + 1))
            continue;                          // no allocation in these windows
        struct obj_cgroup *objcg;
        atomic {                               // the object is freed some time after its allocation
            await(allocated[s]);
            objcg = charged[s];
        }
        if (objcg)
            put(objcg);                        // obj_cgroup_put(objcg) (kmem_cache_free(), __free_pages())
    }
}

// Two threads remove the four memcgs: A then B, and C then P. Removing B before A, or P's
// children in another order, needs a memcg that T never entered and K never left: it only
// makes a later write fail, which the other orders already contain.
thread OAB {
    if (!EARLY_OFFLINE)
        await(writes_done == 2);
    cgroup_rmdir(A);
    cgroup_rmdir(B);
}
thread OCP {
    if (!EARLY_OFFLINE)
        await(writes_done == 2);
    cgroup_rmdir(C);
    await(removed[A] && removed[B]);           // P's children are gone
    cgroup_rmdir(P);
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
