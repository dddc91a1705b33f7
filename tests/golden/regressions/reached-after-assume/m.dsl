refcounted struct obj { };
object struct obj o;
shared word x = 0;
thread T {
    word v = x;
    assume(v == 0);              // x is 0: every execution gets past this line
    assert(v == 2, "after_assume");
    kill(&o);
}
