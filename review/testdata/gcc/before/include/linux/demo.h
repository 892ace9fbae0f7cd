/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _LINUX_DEMO_H
#define _LINUX_DEMO_H

#define DEMO_MASK 0xffu

static inline int demo_inline(unsigned int n)
{
	int spare;

	return n + 1;
}

#endif
