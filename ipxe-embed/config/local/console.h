/*
 * linkboot: consoles (copied into IPXE_SRC/src/config/local/).
 * The serial console (COM1, 115200 8n1 by default, see config/serial.h)
 * shows the boot on a serial line and in `qemu -serial`: lab PCs without
 * a monitor and our tests read it there. Build with SERIAL=0 to leave it
 * out (on UEFI the firmware may mirror the text console to serial itself,
 * which then shows each line twice).
 */
#ifndef LINKBOOT_NO_SERIAL
#define CONSOLE_SERIAL
#endif
