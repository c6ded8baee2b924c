/*
 * linkboot: iPXE build options (copied into IPXE_SRC/src/config/local/ by
 * ipxe-embed/Makefile). See https://ipxe.org/buildcfg for each option.
 */

/* Fetch kernel, initrd and the boot script over HTTP; run iPXE scripts */
#define DOWNLOAD_PROTO_HTTP
#define IMAGE_SCRIPT

/* Tools for a technician at the iPXE shell when the network misbehaves */
#define PING_CMD
#define NSLOOKUP_CMD
#define REBOOT_CMD
#define POWEROFF_CMD

/*
 * No IPv6: iPXE waits ~15 s at "Configuring" for a router advertisement
 * on networks without one (verified in QEMU; see DESIGN.md), and linkboot
 * boots over IPv4.
 */
#undef NET_PROTO_IPV6

/* One second for Ctrl-B instead of two: most boots never need the shell */
#undef BANNER_TIMEOUT
#define BANNER_TIMEOUT 10
