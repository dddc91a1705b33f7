refcounted struct obj { };
object struct obj o;
shared word x = 0;
thread T {
    word v = x;
    assume(v == 1);              // x is never 1: no execution gets past this line
    assert(v == 2, "after_assume");
    kill(&o);
}
