// SPDX-License-Identifier: GPL-2.0
#include <linux/demo.h>

static int helper(int a)
{
	int old_unused;

	return a * 2;
}

int demo_read(int *p, unsigned int n)
{
	if (n < 0)
		return -1;
	return helper(*p) + demo_inline(n);
}
