shared word x = 0;
thread T {
    word v = nope;
    assert(v == 0, "zero");
}
