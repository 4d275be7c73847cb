/* netprof's block-count plugin for qemu-system-riscv64 7.2 (plugin API
 * version 1): every translated block adds its instruction count to a
 * counter of its own each time it runs. The counters live in a shared
 * file (argument out=PATH) that netprof reads while the guest runs:
 * four uint64 (entries used, capacity, overflow count, blocks run),
 * then one
 * {block vaddr, instructions} pair per translation (a block translated
 * again, e.g. under other TB flags, gets another entry). QEMU 7.2 ships
 * no plugin header: shared.h and the two lines below declare the four
 * functions used as its API defines them. */
#include "shared.h"

enum qemu_plugin_op { QEMU_PLUGIN_INLINE_ADD_U64 };
void qemu_plugin_register_vcpu_tb_exec_inline(struct qemu_plugin_tb *, enum qemu_plugin_op, void *, uint64_t);
size_t qemu_plugin_tb_n_insns(const struct qemu_plugin_tb *);

#define CAP (1u << 22)
static uint64_t *hdr; /* used, capacity, overflow count, blocks run */

static void trans(qemu_plugin_id_t id, struct qemu_plugin_tb *tb)
{
	uint64_t *counter = &hdr[2]; /* past capacity: counted, unattributed */
	if (hdr[0] < CAP) {
		uint64_t *e = &hdr[4 + 2 * hdr[0]];
		e[0] = qemu_plugin_tb_vaddr(tb);
		e[1] = 0;
		counter = &e[1];
		hdr[0]++;
	}
	qemu_plugin_register_vcpu_tb_exec_inline(tb, QEMU_PLUGIN_INLINE_ADD_U64, counter, qemu_plugin_tb_n_insns(tb));
	/* Blocks run: under TCG each ends in a jump to the next block,
	 * chained or looked up (calls to other pages, returns). */
	qemu_plugin_register_vcpu_tb_exec_inline(tb, QEMU_PLUGIN_INLINE_ADD_U64, &hdr[3], 1);
}

__attribute__((visibility("default")))
int qemu_plugin_install(qemu_plugin_id_t id, const void *info, int argc, char **argv)
{
	const char *path = NULL;
	for (int i = 0; i < argc; i++)
		if (strncmp(argv[i], "out=", 4) == 0)
			path = argv[i] + 4;
	if (path == NULL)
		return -1;
	size_t size = 32 + (size_t)CAP * 16;
	if ((hdr = map_out(path, size)) == NULL)
		return -1;
	hdr[1] = CAP;
	qemu_plugin_register_vcpu_tb_trans_cb(id, trans);
	return 0;
}
