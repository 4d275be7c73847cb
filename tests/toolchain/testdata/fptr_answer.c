/* The other object file of fptr (see fptr_main.c). */
int answer(void) { return 42; }
