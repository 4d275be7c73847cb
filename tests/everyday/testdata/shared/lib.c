/* A library that builds shared by default. */
int answer(void) { return 42; }
