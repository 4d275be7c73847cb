// hello.c is the application that the loader test kernel runs: a static
// riscv64 Linux program without libc (raw ecalls), so that the image stays
// a few KB and the test depends on nothing but the ELF loader and the
// initial stack. It checks what a libc's startup would read (argc, argv,
// envp, auxv, zeroed bss, initialized data), prints one line and exits 0,
// or prints "loader FAIL ..." and exits 1.
//
// Rebuild both images from this directory (go generate runs these):
//
//	riscv64-linux-gnu-gcc -nostdlib -static -O2 -o hello-static.elf hello.c
//	riscv64-linux-gnu-gcc -nostdlib -static-pie -fPIE -O2 -Wl,--no-dynamic-linker -o hello-pie.elf hello.c
//
// gcc 12's riscv driver passes -dynamic-linker even for -static-pie, hence
// --no-dynamic-linker (else the image gets a PT_INTERP and is refused).
// The static-pie image must have no dynamic relocations (nothing here
// relocates itself): readelf -r hello-pie.elf shows none.

typedef unsigned long ul;

enum { AT_NULL = 0, AT_PHDR = 3, AT_PHENT = 4, AT_PHNUM = 5, AT_PAGESZ = 6,
       AT_BASE = 7, AT_ENTRY = 9, AT_HWCAP = 16, AT_RANDOM = 25, AT_EXECFN = 31 };

// Hidden, so that a static-pie reaches them PC-relative without a GOT.
extern const unsigned char __ehdr_start[] __attribute__((visibility("hidden")));
extern const char _start[] __attribute__((visibility("hidden")));

static char bss[3 * 4096 + 123]; // spans pages: all must read as zero
static volatile int data = 42;   // initialized data must be copied

__asm__(
	".text\n"
	".global _start\n"
	"_start:\n"
	".option push\n"
	".option norelax\n"
	"	lla gp, __global_pointer$\n"
	".option pop\n"
	"	mv a0, sp\n"
	"	call cmain\n"
	"1:	j 1b\n");

static long sys3(long n, long a, long b, long c)
{
	register long a0 __asm__("a0") = a;
	register long a1 __asm__("a1") = b;
	register long a2 __asm__("a2") = c;
	register long a7 __asm__("a7") = n;
	__asm__ volatile("ecall" : "+r"(a0) : "r"(a1), "r"(a2), "r"(a7) : "memory");
	return a0;
}

static char out[512];
static int outn;

static void puts_(const char *s)
{
	while (*s && outn < (int)sizeof out - 1)
		out[outn++] = *s++;
}

static void putu(ul v)
{
	char d[24];
	int n = 0;
	do {
		d[n++] = '0' + v % 10;
		v /= 10;
	} while (v);
	while (n)
		out[outn++] = d[--n];
}

static int eq(const char *a, const char *b)
{
	while (*a && *a == *b)
		a++, b++;
	return *a == *b;
}

static void fail(const char *what)
{
	outn = 0;
	puts_("loader FAIL ");
	puts_(what);
	puts_("\n");
	sys3(64, 1, (long)out, outn);
	sys3(94, 1, 0, 0);
	for (;;)
		;
}

__attribute__((used)) void cmain(ul *sp)
{
	if ((ul)sp % 16)
		fail("sp not 16-byte aligned");
	long argc = (long)sp[0];
	char **argv = (char **)(sp + 1);
	char **envp = argv + argc + 1;
	if (argc < 2 || argv[argc])
		fail("argv");
	int nenv = 0;
	while (envp[nenv])
		nenv++;
	ul *aux = (ul *)(envp + nenv + 1);
	ul phdr = 0, phent = 0, phnum = 0, pagesz = 0, entry = 0, base = 1, hwcap = 0;
	const unsigned char *rnd = 0;
	const char *execfn = 0;
	for (; aux[0] != AT_NULL; aux += 2) {
		switch (aux[0]) {
		case AT_PHDR: phdr = aux[1]; break;
		case AT_PHENT: phent = aux[1]; break;
		case AT_PHNUM: phnum = aux[1]; break;
		case AT_PAGESZ: pagesz = aux[1]; break;
		case AT_BASE: base = aux[1]; break;
		case AT_ENTRY: entry = aux[1]; break;
		case AT_HWCAP: hwcap = aux[1]; break;
		case AT_RANDOM: rnd = (const unsigned char *)aux[1]; break;
		case AT_EXECFN: execfn = (const char *)aux[1]; break;
		}
	}
	// e_phoff is at offset 32 of the ELF header, e_phnum at 56.
	ul phoff = *(const ul *)(__ehdr_start + 32);
	ul ehphnum = *(const unsigned short *)(__ehdr_start + 56);
	if (phdr != (ul)__ehdr_start + phoff || phent != 56 || phnum != ehphnum)
		fail("AT_PHDR/AT_PHENT/AT_PHNUM");
	if (entry != (ul)_start)
		fail("AT_ENTRY");
	if (pagesz != 4096 || base != 0)
		fail("AT_PAGESZ/AT_BASE");
	if ((hwcap & 0x112d) != 0x112d)
		fail("AT_HWCAP lacks imafdc");
	if (!rnd)
		fail("AT_RANDOM");
	ul rsum = 0;
	for (int i = 0; i < 16; i++)
		rsum |= rnd[i];
	if (!rsum)
		fail("AT_RANDOM bytes are zero");
	if (!execfn || !eq(execfn, argv[0]))
		fail("AT_EXECFN");
	for (ul i = 0; i < sizeof bss; i++)
		if (bss[i])
			fail("bss not zero");
	if (data != 42)
		fail("initialized data");
	bss[sizeof bss - 1] = 1; // bss is writable

	puts_("loader ok argc=");
	putu(argc);
	puts_(" argv1=");
	puts_(argv[1]);
	puts_(" env=");
	puts_(nenv ? envp[0] : "none");
	puts_(" pie=");
	puts_((ul)__ehdr_start >= 0x1000000000ul ? "yes" : "no");
	puts_("\n");
	sys3(64, 1, (long)out, outn);
	sys3(94, 0, 0, 0);
	for (;;)
		;
}
