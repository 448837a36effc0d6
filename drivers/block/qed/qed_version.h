/* SPDX-License-Identifier: GPL-2.0 */
/*
 * One version for the module and qedctl: `modinfo qedblk` and
 * `qedctl --version` say the same.
 */
#ifndef QED_VERSION_H
#define QED_VERSION_H

#define QED_VERSION "0.15.0"

#endif
