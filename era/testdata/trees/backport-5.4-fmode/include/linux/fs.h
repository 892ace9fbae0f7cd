/* SPDX-License-Identifier: GPL-2.0 */
/* An excerpt of include/linux/fs.h (a vendor 5.4 with the series backported): what tells the era. */
#ifndef _LINUX_FS_H
#define _LINUX_FS_H

/* File is capable of returning -EAGAIN if I/O will block */
#define FMODE_NOWAIT		((__force fmode_t)0x8000000)

/* File represents mount that needs unmounting */
#define FMODE_NEED_UNMOUNT	((__force fmode_t)0x10000000)

/* File does not contribute to nr_files count */
#define FMODE_NOACCOUNT		((__force fmode_t)0x20000000)

/* File supports async buffered reads */
#define FMODE_BUF_RASYNC	((__force fmode_t)0x40000000)
#endif
