// per_node_objcg.dsl: a memcg with one objcg pointer per NUMA node, read by allocations on two
// nodes while the memcg goes offline.
//
// The memcg keeps `struct obj_cgroup *objcgs[2]` (an array field: one shared word per node,
// memcg_A.objcgs[0] and memcg_A.objcgs[1] in traces). An allocation on node `nid` takes the
// address of its node's slot, reads it under RCU and trygets the objcg, as
// get_obj_cgroup_from_current() does with memcg->objcg. Offline empties every node's slot with
// xchg() and then kills each objcg it took out (percpu_ref_kill drops the initial reference).
// The objcgs are an object array with one initialiser per element.
//
// Expected verdicts (objcg-prove models/examples/per_node_objcg.dsl, exit status 1):
//   leak            proved    every tryget is matched by a put; offline kills each objcg once
//   uaf             proved    no get() on a released objcg: tryget fails on a dead one, and
//                             each node's slot index is in bounds
//   deadlock        proved    (nothing waits)
//   always_charged  VIOLATED  offline can empty a node's slot before the allocation reads it:
//                             the allocation gets NULL (the kernel then charges the parent's
//                             objcg; not modelled here). Shortest counterexample: 2 steps.
//   own_node        proved    an allocation on node n only ever gets node n's objcg: the
//                             slots are separate words, and offline's xchg on one node does
//                             not touch the other
// The loops run a fixed number of times (two nodes), covered by the default bound 2: "proved"
// is a full proof under sequential consistency, of every interleaving of the two allocations
// (one per node) with offline.

refcounted struct obj_cgroup {
    struct mem_cgroup *memcg;
};

struct mem_cgroup {
    struct obj_cgroup *objcgs[2];           // struct obj_cgroup __rcu *objcgs[MAX_NUMNODES];
};

object struct obj_cgroup node_objcg[2] = { [0] = { .memcg = &memcg_A }, [1] = { .memcg = &memcg_A } };
object struct mem_cgroup memcg_A = { .objcgs = { &node_objcg[0], &node_objcg[1] } };

// the objcg of `memcg` on node `nid`, with a reference; NULL if the memcg went offline
proc struct obj_cgroup *get_obj_cgroup(struct mem_cgroup *memcg, word nid) {
    struct obj_cgroup **slot = &memcg->objcgs[nid];
    rcu_read_lock();
    struct obj_cgroup *objcg = READ_ONCE(*slot);
    if (objcg != NULL && !tryget(objcg))    // obj_cgroup_tryget(objcg)
        objcg = NULL;
    rcu_read_unlock();
    return objcg;
}

proc void allocate(word nid) {
    struct obj_cgroup *objcg = get_obj_cgroup(&memcg_A, nid);
    assert(objcg != NULL, "always_charged");
    if (objcg != NULL) {
        assert(objcg == &node_objcg[nid], "own_node");
        put(objcg);                         // obj_cgroup_put(objcg): the object is freed
    }
}

thread Alloc0 {
    allocate(0);
}

thread Alloc1 {
    allocate(1);
}

thread Offline {
    struct obj_cgroup *taken[2];            // a local array: no shared access
    for (word nid = 0; nid < 2; nid++)
        taken[nid] = xchg(&memcg_A.objcgs[nid], NULL);
    for (word nid = 0; nid < 2; nid++)
        if (taken[nid] != NULL)
            kill(taken[nid]);               // percpu_ref_kill(&objcg->refcnt)
}
