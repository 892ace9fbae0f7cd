// SPDX-License-Identifier: GPL-2.0
/* An excerpt of Debian linux-source-6.1 (6.1.192) fs/xfs/xfs_file.c, for ktest's era tests. */

}

STATIC int
xfs_file_open(
	struct inode	*inode,
	struct file	*file)
{
	if (xfs_is_shutdown(XFS_M(inode->i_sb)))
		return -EIO;
	file->f_mode |= FMODE_NOWAIT | FMODE_BUF_RASYNC | FMODE_BUF_WASYNC;
	return generic_file_open(inode, file);
}

STATIC int
xfs_dir_open(
	struct inode	*inode,
