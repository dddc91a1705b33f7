// refcount.dsl: a reference taken after the final put, next to a correct lookup.
//
// Two refcounted objects, each published through a shared pointer and owned by thread Owner,
// which holds their initial reference (every refcounted object starts with count 1). Owner
// unpublishes each object and drops its reference: that is the final put unless a reader
// holds one. Reader looks each object up through the shared pointer:
//   `bad`:  it reads the pointer and calls get(), as if a pointer it can see were a reference
//           it holds. If Owner's put() lands between the load and the get(), the get() runs on
//           a count of 0: a use after free (in the kernel: a refcount_inc() on 0, or a kref
//           resurrected after its release ran).
//   `good`: it takes its reference with tryget(), which fails once the count is 0 (as
//           kref_get_unless_zero() / percpu_ref_tryget() do under rcu_read_lock()), then nests
//           a get()/put() pair under the reference it holds, and puts its own reference.
//
// Expected verdicts (objcg-prove models/examples/refcount.dsl, exit status 1):
//   leak      proved    every reference taken is put, and Owner drops both initial ones
//   uaf       VIOLATED  "get() on a released object (its count was already 0)" at the get()
//                       on `bad`; shortest counterexample: 4 steps (Reader loads bad_ptr,
//                       Owner unpublishes it and its put() drops the count to 0, Reader's
//                       get())
//   deadlock  proved    nothing waits
// uaf is one property for the whole model, so the correct `good` half is shown proved on its
// own with the buggy half switched off (objcg-prove -D BAD=0 models/examples/refcount.dsl,
// exit status 0): leak, uaf and deadlock are all proved. No loops: the bound covers every
// execution, so these are full proofs under sequential consistency.
// (Released memory stays readable here, as it does for RCU readers: reading or writing a field
// of an object whose count reached 0 is not reported; only refcount operations on it are.
// Owner drops its initial reference with put(), kref style: here a put() to 0 releases the
// object whether or not it was killed; kill() would give the same verdicts.)

param BAD = 1;                         // -D BAD=0: model only the correct lookup

refcounted struct obj {                // struct obj { struct kref ref; int data; };
    word data;
};

object struct obj bad = { .data = 1 }, good = { .data = 1 };

shared struct obj *bad_ptr = &bad;     // struct obj __rcu *bad_ptr;
shared struct obj *good_ptr = &good;   // struct obj __rcu *good_ptr;

thread Owner {
    if (BAD) {
        WRITE_ONCE(bad_ptr, NULL);     // rcu_assign_pointer(bad_ptr, NULL);
        put(&bad);                     // obj_put(bad);   the owner's (initial) reference
    } else {
        put(&bad);                     // obj_put(bad);   (nobody else ever sees it)
    }
    WRITE_ONCE(good_ptr, NULL);        // rcu_assign_pointer(good_ptr, NULL);
    put(&good);                        // obj_put(good);  the owner's (initial) reference
}

thread Reader {
    if (BAD) {
        struct obj *p = rcu_dereference(bad_ptr);  // p = rcu_dereference(bad_ptr);
        if (p) {
            get(p);                    // obj_get(p);     BUG: p may already be released
            word d = p->data;          // d = p->data;
            put(p);                    // obj_put(p);
        }
    }
    struct obj *q = rcu_dereference(good_ptr);     // q = rcu_dereference(good_ptr);
    if (q && tryget(q)) {              // if (q && obj_tryget(q)) {
        get(q);                        //     obj_get(q);   another reference, under ours
        put(q);                        //     obj_put(q);
        word e = q->data;              //     e = q->data;
        put(q);                        //     obj_put(q);
    }                                  // }
}
