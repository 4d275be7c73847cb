/* netprof's callers plugin for qemu-system-riscv64 7.2 (plugin API
 * version 1): each time a block starting at one of the watch=HEX
 * addresses runs, the block that ran just before it (for a function's
 * entry: the block that called it) is counted, in a shared file
 * (out=PATH) of {block vaddr, count} pairs, open addressing over
 * 1<<16 slots. A callback per executed block: slow, for counting only. */
#include "shared.h"
#include <stdlib.h>

enum qemu_plugin_cb_flags { QEMU_PLUGIN_CB_NO_REGS };
typedef void (*udata_cb)(unsigned int, void *);
void qemu_plugin_register_vcpu_tb_exec_cb(struct qemu_plugin_tb *, udata_cb, enum qemu_plugin_cb_flags, void *);

#define SLOTS (1u << 16)
static uint64_t *tab;
static uint64_t watch[8];
static int nwatch;
static uint64_t last;

static void count(uint64_t caller)
{
	uint64_t h = (caller * 0x9E3779B97F4A7C15ull) >> 48;
	for (unsigned k = 0; k < SLOTS; k++) {
		uint64_t *s = &tab[2 * ((h + k) & (SLOTS - 1))];
		if (s[0] == caller) {
			s[1]++;
			return;
		}
		if (s[0] == 0) {
			s[0] = caller;
			s[1] = 1;
			return;
		}
	}
}

static void exec(unsigned int vcpu, void *ud)
{
	uint64_t pc = (uint64_t)(uintptr_t)ud;
	for (int i = 0; i < nwatch; i++)
		if (pc == watch[i])
			count(last);
	last = pc;
}

static void trans(qemu_plugin_id_t id, struct qemu_plugin_tb *tb)
{
	qemu_plugin_register_vcpu_tb_exec_cb(tb, exec, QEMU_PLUGIN_CB_NO_REGS, (void *)(uintptr_t)qemu_plugin_tb_vaddr(tb));
}

__attribute__((visibility("default")))
int qemu_plugin_install(qemu_plugin_id_t id, const void *info, int argc, char **argv)
{
	const char *path = NULL;
	for (int i = 0; i < argc; i++) {
		if (strncmp(argv[i], "out=", 4) == 0)
			path = argv[i] + 4;
		if (strncmp(argv[i], "watch=", 6) == 0 && nwatch < 8)
			watch[nwatch++] = strtoull(argv[i] + 6, NULL, 16);
	}
	if (path == NULL || nwatch == 0)
		return -1;
	size_t size = (size_t)SLOTS * 16;
	if ((tab = map_out(path, size)) == NULL)
		return -1;
	qemu_plugin_register_vcpu_tb_trans_cb(id, trans);
	return 0;
}
