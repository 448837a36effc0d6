#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Print -DQED_HAVE_* for the kernel interfaces found in the headers of the
# kernel being built against ($1 = srctree); qed_compat.h uses them.
inc="$1/include/linux"
has() { grep -qsE "$2" "$inc/$1" && printf ' %s' "$3"; }
# 6.11: queue_limits carry the feature flags (write cache, FUA).
has blkdev.h 'BLK_FEAT_WRITE_CACHE' -DQED_HAVE_BLK_FEAT
# 6.9: blk_mq_alloc_disk() takes the queue limits.
has blk-mq.h 'define blk_mq_alloc_disk\(set, lim' -DQED_HAVE_ALLOC_DISK_LIM
# 6.5: ->open() takes the gendisk and ->release() no mode.
has blkdev.h '\(\*open\)\(struct gendisk' -DQED_HAVE_OPEN_GENDISK
# 6.9: struct file_lock keeps its owner, type and flags in file_lock_core.
has filelock.h 'struct file_lock_core \{' -DQED_HAVE_FILE_LOCK_CORE
# Before 6.14: a hardware queue merges bios only with BLK_MQ_F_SHOULD_MERGE.
has blk-mq.h 'BLK_MQ_F_SHOULD_MERGE' -DQED_HAVE_MQ_SHOULD_MERGE
echo
