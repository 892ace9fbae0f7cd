/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _LINUX_DEMO_H
#define _LINUX_DEMO_H

#define DEMO_MASK 0x1ffu

static inline int demo_inline(unsigned int n)
{
	int spare;

	return n + 1;
}

static inline int demo_twice(unsigned int n)
{
	int last = 0;

	last = n;
	return 2 * n;
}

#endif
