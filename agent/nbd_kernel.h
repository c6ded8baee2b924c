/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef LB_AGENT_NBD_KERNEL_H
#define LB_AGENT_NBD_KERNEL_H

#include <stdint.h>

/*
 * nbd.ko over generic netlink (family "nbd", linux/nbd-netlink.h): attach
 * one end of our AF_UNIX socketpair as the device's only socket. Netlink,
 * not ioctls: a netlink device can be RECONFIGUREd with a new socket if
 * the serving process dies; an ioctl one cannot (DESIGN.md "Verified").
 */

/* NBD_CMD_CONNECT; *index in: wanted device or -1, out: the device. */
int nbd_kernel_connect(int sockfd, uint64_t size, uint32_t blksize,
		       uint64_t server_flags, uint64_t dead_conn_timeout_s,
		       int *index);
/* NBD_CMD_RECONFIGURE: give a (re-spawned) daemon's socket to *index. */
int nbd_kernel_reconfigure(int index, int sockfd);

#endif
