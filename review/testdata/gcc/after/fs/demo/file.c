// SPDX-License-Identifier: GPL-2.0
#include <linux/demo.h>

static int demo_count(const int *p, unsigned int n)
{
	int i, total = 0;
	int old_unused;

	for (i = 0; i < n; i++)
		total += p[i];
	return total;
}

static int helper(int a)
{
	int old_unused;

	return a * 2;
}

int demo_read(int *p, unsigned int n)
{
	if (n < 0)
		return -1;
	return helper(*p) + demo_inline(n) + demo_count(p, n) + demo_twice(n);
}
