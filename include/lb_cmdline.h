/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef LB_CMDLINE_H
#define LB_CMDLINE_H

/*
 * The kernel command line contract between the server's boot script
 * (server-stub/net/bootscript.c writes it) and the agent (agent/ parses it from
 * /proc/cmdline). One key per line below; values never contain spaces.
 *
 *   linkboot.server=ADDR[:PORT][,ADDR[:PORT]...]  NBD server(s), port 10809
 *   linkboot.http=URL           server's HTTP base ("http://ADDR:PORT"), for
 *                               reports and boot packs
 *   linkboot.ticket=TICKET      this boot's ticket (lib/ticket.h): traded
 *                               once, from a reserved port, for the
 *                               boot's credential (POST /session on
 *                               linkboot.http), then spent
 *   linkboot.export=NAME        NBD export by hand instead: an image
 *                               ("NAME[@VERSION]", read-only) or an admin
 *                               token (`linkboot client token`)
 *   linkboot.mac=MAC            boot NIC (iPXE ${mac})
 *   linkboot.ip=ADDR            address iPXE got (iPXE ${ip}); absent: DHCP
 *   linkboot.netmask=MASK       (iPXE ${netmask})
 *   linkboot.gw=ADDR            (iPXE ${gateway}), optional
 *   linkboot.dns=ADDR           (iPXE ${dns}), optional
 *   linkboot.root=SPEC          LABEL=x | UUID=x | PARTLABEL=x | partN;
 *                               default: the first ext4 partition
 *   linkboot.write=MODE         ram (default) | disk | server | super
 *   linkboot.overlay=MiB        ram mode: tmpfs size cap for writes;
 *                               server/super: RAM part of the block write
 *                               overlay (default 64), then the cache
 *                               partition, then the server
 *   linkboot.keep=0|1           server mode: the server keeps the overlay
 *                               across boots, so written pages go to it at
 *                               every FLUSH (write-back)
 *   linkboot.ram=MiB            RAM block cache size (0 = off)
 *   linkboot.ssd=off|auto|MiB   persistent cache partition policy
 *   linkboot.hashes=PATH        block-hash table of the booted version
 *                               ("boot/<image_id>/v<N>/hashes" under
 *                               linkboot.http); its boot.pack is beside it
 *   linkboot.hostname=NAME      this client's hostname
 *   linkboot.reconnect=SECONDS  longest server outage to ride out (default 300)
 *   linkboot.verbose=0|1|2
 *   systemd.machine_id=HEX32    this client's machine-id (systemd reads it)
 *   initrd=NAME                 EFI stub needs it (iPXE image name)
 */

#define LB_NBD_PORT_DEFAULT 10809

#endif
