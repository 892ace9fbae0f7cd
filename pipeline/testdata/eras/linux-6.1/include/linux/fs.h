// SPDX-License-Identifier: GPL-2.0
/* An excerpt of Debian linux-source-6.1 (6.1.192) include/linux/fs.h, for ktest's era tests. */

/* File does not contribute to nr_files count */
#define FMODE_NOACCOUNT		((__force fmode_t)0x20000000)

/* File supports async buffered reads */
#define FMODE_BUF_RASYNC	((__force fmode_t)0x40000000)

/* File supports async nowait buffered writes */
#define FMODE_BUF_WASYNC	((__force fmode_t)0x80000000)

