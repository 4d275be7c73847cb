/* fptr: tables of pointers to functions defined in another object file
 * and in libc, whose addresses the code also takes directly, as Lua's
 * linit.c (luaopen_base), cJSON's allocator hooks (malloc, free) and
 * SQLite do. With -fPIE the code takes the address through the GOT, and
 * the table holds an absolute address that the static-pie start code
 * must relocate. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern int answer(void);

struct hooks {
	void *(*alloc)(size_t);
	void (*release)(void *);
	int (*answer)(void);
};

/* Not static, so the compiler cannot fold the table away. */
struct hooks hooks = { malloc, free, answer };

int main(void)
{
	/* volatile: taken at run time, through the GOT */
	void *(*volatile m)(size_t) = malloc;
	int (*volatile a)(void) = answer;
	char *p = hooks.alloc(16);
	strcpy(p, "relocated");
	printf("%s: malloc %d, answer %d, answer() %d\n", p, hooks.alloc == m, hooks.answer == a, hooks.answer());
	hooks.release(p);
	return 0;
}
