/* netprof's call-edge plugin for qemu-system-riscv64 7.2 (plugin API
 * version 1), for profile-guided optimisation from the guest's own run:
 * at translation it notes the blocks whose last instruction is a call
 * (jal or jalr writing ra, x1, or c.jalr) at a kernel address (>= min=HEX),
 * and when the next block runs it counts the edge {call-site pc, callee
 * block vaddr} in a shared file (out=PATH) of {site, callee, count}
 * triples, open addressing over 1<<18 slots. A callback per executed
 * block: slow, for profiling only. */
#include "shared.h"
#include <stdlib.h>

enum qemu_plugin_cb_flags { QEMU_PLUGIN_CB_NO_REGS };
typedef void (*udata_cb)(unsigned int, void *);
struct qemu_plugin_insn;
void qemu_plugin_register_vcpu_tb_exec_cb(struct qemu_plugin_tb *, udata_cb, enum qemu_plugin_cb_flags, void *);
size_t qemu_plugin_tb_n_insns(const struct qemu_plugin_tb *);
struct qemu_plugin_insn *qemu_plugin_tb_get_insn(const struct qemu_plugin_tb *, size_t);
const void *qemu_plugin_insn_data(const struct qemu_plugin_insn *);
size_t qemu_plugin_insn_size(const struct qemu_plugin_insn *);
uint64_t qemu_plugin_insn_vaddr(const struct qemu_plugin_insn *);

#define SLOTS (1u << 18)
static uint64_t *tab;
static uint64_t minaddr = 0x80000000ull;
static uint64_t pending; /* call site of the block that ran last, or 0 */

/* block is what a translation's callback gets: its address and, when
 * it ends in a call, the call instruction's. */
struct block {
	uint64_t vaddr, site;
};

static void count(uint64_t site, uint64_t callee)
{
	uint64_t h = ((site ^ (callee * 0xff51afd7ed558ccdull)) * 0x9E3779B97F4A7C15ull) >> 46;
	for (unsigned k = 0; k < SLOTS; k++) {
		uint64_t *s = &tab[3 * ((h + k) & (SLOTS - 1))];
		if (s[0] == site && s[1] == callee) {
			s[2]++;
			return;
		}
		if (s[0] == 0) {
			s[0] = site;
			s[1] = callee;
			s[2] = 1;
			return;
		}
	}
}

static void exec(unsigned int vcpu, void *ud)
{
	struct block *b = ud;
	if (pending != 0)
		count(pending, b->vaddr);
	pending = b->site;
}

/* is_call reports whether the instruction is a call: jal or jalr with
 * rd = ra (x1), or c.jalr (which writes ra). c.jal exists on RV32 only. */
static int is_call(const uint8_t *p, size_t n)
{
	if (n == 4) {
		uint32_t i = p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24;
		uint32_t op = i & 0x7f, rd = (i >> 7) & 0x1f, f3 = (i >> 12) & 7;
		return rd == 1 && (op == 0x6f || (op == 0x67 && f3 == 0));
	}
	if (n == 2) {
		uint16_t i = p[0] | p[1] << 8;
		/* c.jalr: funct4 1001, rs1 != 0, rs2 = 0, op 10. */
		return (i & 0xf07f) == 0x9002 && ((i >> 7) & 0x1f) != 0;
	}
	return 0;
}

static void trans(qemu_plugin_id_t id, struct qemu_plugin_tb *tb)
{
	struct block *b = calloc(1, sizeof *b);
	if (b == NULL)
		return;
	b->vaddr = qemu_plugin_tb_vaddr(tb);
	size_t n = qemu_plugin_tb_n_insns(tb);
	if (n > 0 && b->vaddr >= minaddr) {
		struct qemu_plugin_insn *last = qemu_plugin_tb_get_insn(tb, n - 1);
		if (is_call(qemu_plugin_insn_data(last), qemu_plugin_insn_size(last)))
			b->site = qemu_plugin_insn_vaddr(last);
	}
	qemu_plugin_register_vcpu_tb_exec_cb(tb, exec, QEMU_PLUGIN_CB_NO_REGS, b);
}

__attribute__((visibility("default")))
int qemu_plugin_install(qemu_plugin_id_t id, const void *info, int argc, char **argv)
{
	const char *path = NULL;
	for (int i = 0; i < argc; i++) {
		if (strncmp(argv[i], "out=", 4) == 0)
			path = argv[i] + 4;
		if (strncmp(argv[i], "min=", 4) == 0)
			minaddr = strtoull(argv[i] + 4, NULL, 16);
	}
	if (path == NULL)
		return -1;
	if ((tab = map_out(path, (size_t)SLOTS * 24)) == NULL)
		return -1;
	qemu_plugin_register_vcpu_tb_trans_cb(id, trans);
	return 0;
}
