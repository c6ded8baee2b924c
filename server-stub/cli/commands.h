/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef LB_COMMANDS_H
#define LB_COMMANDS_H

/*
 * `linkboot <command>` entry points. Each gets argc/argv starting at the
 * command's own name and the loaded configuration, and returns the exit
 * code: 0 ok, 1 runtime error, 2 usage error. Registered in main.c.
 */

#include "config.h"

#define EXIT_USAGE 2

struct command {
	const char *name;
	int (*run)(struct lb_config *cfg, int argc, char **argv);
	const char *summary;
};

/* image store: image.c; canary releases: image_release.c */
struct db;
int image_release_cmd(struct db *db, int argc, char **argv);
int image_releases_cmd(struct db *db, int argc, char **argv);
int image_prestage_cmd(struct db *db, int argc, char **argv);
/* `image releases|prestages [NAME] [-j|--json=...] [--no-legend]`: 0, -1
 * (a bad format option, already said) or the index of an unexpected
 * argument. */
int image_list_args(int argc, char **argv, const char **image, int *format,
		    int *legend);
int image_prestages_cmd(struct db *db, int argc, char **argv);
int cmd_image(struct lb_config *cfg, int argc, char **argv);
int cmd_serve(struct lb_config *cfg, int argc, char **argv);
int cmd_info(struct lb_config *cfg, int argc, char **argv);
int cmd_check(struct lb_config *cfg, int argc, char **argv);
int cmd_doctor(struct lb_config *cfg, int argc, char **argv);
/* db helper: client.c, status.c, backup.c */
int cmd_client(struct lb_config *cfg, int argc, char **argv);
/* `client disk ...`: client_disk.c */
int cmd_client_disk(struct lb_config *cfg, int argc, char **argv);
/* `client reboot|poweroff|message|commands`: client_control.c */
int cmd_client_control(struct lb_config *cfg, int argc, char **argv);
int cmd_why(struct lb_config *cfg, int argc, char **argv);
int cmd_status(struct lb_config *cfg, int argc, char **argv);
int cmd_backup(struct lb_config *cfg, int argc, char **argv);
int cmd_restore(struct lb_config *cfg, int argc, char **argv);
int cmd_initramfs(struct lb_config *cfg, int argc, char **argv);

#endif
