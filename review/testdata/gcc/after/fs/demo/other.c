// SPDX-License-Identifier: GPL-2.0
#include <linux/demo.h>

static void orphan(void)
{
}

unsigned char demo_mask(void)
{
	unsigned char c = DEMO_MASK;

	return c + demo_inline(1);
}
