/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef LB_AGENT_IFUPDOWN_H
#define LB_AGENT_IFUPDOWN_H

#include <stddef.h>

/*
 * Debian's ifupdown must leave the boot NIC alone: the root disk is on it.
 * An image configured as installers leave it ("allow-hotplug eth0",
 * "iface eth0 inet dhcp") would run dhclient on it at boot (new lease,
 * address flush) and, worse, `ifdown` it at shutdown (dhclient -r flushes
 * the address; even "inet manual" sets the link down), so the root goes
 * away under systemd's final sync and unmount. Rewriting the stanza to
 * "manual" is not enough: the NIC must leave ifupdown's view entirely.
 */

/*
 * Pure text transform of one interfaces(5) file: IFNAME is removed from
 * "auto" / "allow-*" lines (a line left empty is commented out) and its
 * "iface IFNAME ..." stanzas (any family and method, with their option
 * lines) are commented out with a "#linkboot: " prefix. Writes the result
 * (NUL-terminated) to out. Returns the number of lines changed (0: out is
 * the input), or -ENOSPC when out is too small.
 */
int ifupdown_release_text(const char *in, const char *ifname, char *out,
			  size_t outsz);

/*
 * Apply it to ROOT/etc/network/interfaces and every regular file in
 * ROOT/etc/network/interfaces.d/ (what the installer's "source" line reads).
 * Changed files are rewritten in place (into the overlay's upper layer).
 * Returns the number of files changed.
 */
int ifupdown_release_nic(const char *root, const char *ifname);

#endif
