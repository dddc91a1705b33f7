thread B { }
shared word x = 0;
ghost word g = 0;
thread C { x = 1; assert(x == 1, "wrote"); }
