/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef LB_SCHEMA_H
#define LB_SCHEMA_H

/*
 * The link DB schema, version 1 and what later versions add (contract
 * between db.c, which creates and migrates it, and the image store, which
 * writes images/versions). Times are
 * ISO-8601 UTC text ("2026-11-25T15:50:03Z"); MACs lower-case colon form.
 * A later schema version adds a migration step in db.c, never edits this.
 */

#define DB_SCHEMA_VERSION 11

#define DB_SCHEMA_V1 \
"CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);\n" \
/* one row per image; files are named by id, never by name */ \
"CREATE TABLE images(\n" \
"  id TEXT PRIMARY KEY,            -- 16 hex digits, random\n" \
"  name TEXT UNIQUE NOT NULL,\n" \
"  size INTEGER NOT NULL,          -- bytes\n" \
"  block_size INTEGER NOT NULL DEFAULT 65536, -- hash table / delta block\n" \
"  pt_type TEXT, pt_uuid TEXT,     -- identity (libblkid)\n" \
"  identity TEXT,                  -- partitions: 'N:fstype:uuid:label;...'\n" \
"  content_sha256 TEXT,            -- whole v1 content, at import\n" \
"  ram_cache_mib INTEGER, ssd_cache TEXT, write_mode TEXT, -- defaults\n" \
"  root TEXT, cmdline TEXT,        -- linkboot.root=, extra kernel args\n" \
"  production_version INTEGER,     -- what clients boot by default\n" \
"  test_version INTEGER, test_group TEXT, -- a test group boots this\n" \
"  created TEXT NOT NULL);\n" \
"CREATE TABLE versions(\n" \
"  image_id TEXT NOT NULL REFERENCES images(id) ON DELETE CASCADE,\n" \
"  version INTEGER NOT NULL,\n" \
"  parent INTEGER,                 -- NULL: raw base; else a delta on it\n" \
"  file TEXT NOT NULL,             -- in the store dir\n" \
"  state TEXT NOT NULL DEFAULT 'production', -- maintenance|test|production\n" \
"  kernel TEXT, initrd TEXT, kver TEXT, -- under <state>/boot/\n" \
"  hashes TEXT,                    -- block-hash table file (store dir)\n" \
"  created TEXT NOT NULL, note TEXT,\n" \
"  PRIMARY KEY(image_id, version));\n" \
"CREATE TABLE groups(\n" \
"  name TEXT PRIMARY KEY, image_id TEXT REFERENCES images(id),\n" \
"  ram_cache_mib INTEGER, ssd_cache TEXT, write_mode TEXT);\n" \
/* NULL fields inherit: client -> group -> image defaults -> built-in */ \
"CREATE TABLE clients(\n" \
"  mac TEXT PRIMARY KEY,\n" \
"  name TEXT UNIQUE NOT NULL, hostname TEXT NOT NULL, grp TEXT,\n" \
"  image_id TEXT REFERENCES images(id),\n" \
"  version INTEGER,                -- pinned version, NULL = follow image\n" \
"  ram_cache_mib INTEGER, ssd_cache TEXT, write_mode TEXT,\n" \
"  token TEXT UNIQUE NOT NULL,     -- NBD export name of this client\n" \
"  machine_id TEXT NOT NULL,       -- 32 hex, stable per client\n" \
"  super INTEGER NOT NULL DEFAULT 0,\n" \
"  super_token TEXT,               -- one-shot, minted by `client super`\n" \
"  keep_overlay INTEGER NOT NULL DEFAULT 0,\n" \
"  overlay_base INTEGER,           -- version a kept overlay is pinned to\n" \
"  created TEXT NOT NULL, last_boot TEXT, last_seen TEXT);\n" \
/* live NBD sessions, so versions in use are never deleted */ \
"CREATE TABLE sessions(\n" \
"  id INTEGER PRIMARY KEY, pid INTEGER NOT NULL, peer TEXT NOT NULL,\n" \
"  mac TEXT, image_id TEXT NOT NULL, version INTEGER NOT NULL,\n" \
"  since TEXT NOT NULL);\n" \
"CREATE TABLE events(\n" \
"  id INTEGER PRIMARY KEY, time TEXT NOT NULL, mac TEXT,\n" \
"  kind TEXT NOT NULL, detail TEXT);\n" \
"CREATE INDEX events_mac ON events(mac, id);\n" \
/* agents' counters, latest per client (status, demo line) */ \
"CREATE TABLE stats(\n" \
"  mac TEXT PRIMARY KEY, time TEXT NOT NULL, boot_id TEXT,\n" \
"  uptime_ms INTEGER, bytes_from_server INTEGER,\n" \
"  ram_hits INTEGER, ram_misses INTEGER, ssd_hits INTEGER,\n" \
"  ssd_misses INTEGER, overlay_bytes INTEGER, timeline TEXT);\n"

/* Version 3: what a PC proves itself with (server-stub/linkdb/credential.h). */
#define DB_SCHEMA_V3 \
"CREATE TABLE credentials(\n" \
"  hash TEXT PRIMARY KEY,          -- hex SHA-256 of the secret\n" \
"  mac TEXT NOT NULL REFERENCES clients(mac) ON DELETE CASCADE,\n" \
"  kind TEXT NOT NULL,             -- boot | admin\n" \
"  peer TEXT,                      -- IPv4 it is bound to, NULL = any\n" \
"  write_mode TEXT,                -- boot: fixed when the boot began;\n" \
"                                  -- admin: NULL = the link's\n" \
"  boot_seq INTEGER,               -- boot: the client's boot it is for\n" \
"  image_id TEXT, version INTEGER, -- boot: the version it runs (pinned)\n" \
"  created TEXT NOT NULL);\n" \
"CREATE INDEX credentials_mac ON credentials(mac);\n" \
/* a redeemed ticket's nonce, until the ticket would have expired */ \
"CREATE TABLE used_tickets(\n" \
"  nonce TEXT PRIMARY KEY, expires INTEGER NOT NULL);\n" \
/* boot_seq counts boots (redeemed tickets); overlay_boot is the boot a \
 * non-kept server overlay was written in: another boot starts afresh */ \
"ALTER TABLE clients ADD COLUMN boot_seq INTEGER NOT NULL DEFAULT 0;\n" \
"ALTER TABLE clients ADD COLUMN overlay_boot INTEGER;\n"

/* Version 4: how PCs boot: 'linux' (kernel + initramfs, root over NBD) or
 * 'san' (iPXE sanboot of the PC's iSCSI disk); client, else image, else
 * linux. */
#define DB_SCHEMA_V4 \
"ALTER TABLE images ADD COLUMN boot_mode TEXT;\n" \
"ALTER TABLE clients ADD COLUMN boot_mode TEXT;\n"

/* Version 5: what a live session has served, for `linkboot status` (a SAN
 * PC has no agent that reports): its protocol, bytes, failed I/O. */
#define DB_SCHEMA_V5 \
"ALTER TABLE sessions ADD COLUMN proto TEXT NOT NULL DEFAULT 'nbd';\n" \
"ALTER TABLE sessions ADD COLUMN bytes_read INTEGER NOT NULL DEFAULT 0;\n" \
"ALTER TABLE sessions ADD COLUMN bytes_written INTEGER NOT NULL " \
"DEFAULT 0;\n" \
"ALTER TABLE sessions ADD COLUMN io_errors INTEGER NOT NULL DEFAULT 0;\n"

/* Version 6: extra disks (LUN 1..7 beside the system disk, LUN 0) of a
 * client or of a group, from other images; disk_boots pins, per client
 * and LUN, the version a boot began with and whose overlay it is. */
#define DB_SCHEMA_V6 \
"CREATE TABLE disks(\n" \
"  mac TEXT REFERENCES clients(mac) ON DELETE CASCADE,\n" \
"  grp TEXT,                       -- exactly one of mac, grp\n" \
"  lun INTEGER NOT NULL CHECK(lun BETWEEN 1 AND 7),\n" \
"  image_id TEXT NOT NULL REFERENCES images(id) ON DELETE CASCADE,\n" \
"  version INTEGER,                -- pinned, NULL = production\n" \
"  mode TEXT NOT NULL,             -- ro | ram | server\n" \
"  created TEXT NOT NULL,\n" \
"  CHECK((mac IS NULL) != (grp IS NULL)));\n" \
"CREATE UNIQUE INDEX disks_owner ON disks(IFNULL(mac, ''), " \
"IFNULL(grp, ''), lun);\n" \
"CREATE TABLE disk_boots(\n" \
"  mac TEXT NOT NULL REFERENCES clients(mac) ON DELETE CASCADE,\n" \
"  lun INTEGER NOT NULL, image_id TEXT NOT NULL,\n" \
"  version INTEGER NOT NULL, boot_seq INTEGER NOT NULL,\n" \
"  PRIMARY KEY(mac, lun));\n" \
"ALTER TABLE sessions ADD COLUMN lun INTEGER NOT NULL DEFAULT 0;\n"

/* Version 7: a PC's UEFI Secure Boot ('on': DHCP hands it the signed
 * shim -> GRUB chain; 'off': iPXE; NULL: the server's secure_boot). */
#define DB_SCHEMA_V7 \
"ALTER TABLE clients ADD COLUMN secure_boot TEXT;\n"

/* Version 8: a boot menu per client (a group's is set on each of its
 * clients): entries (image names, 'local', 'rescue', comma-separated),
 * the default entry and the timeout; what the PC picked this boot
 * (boot_pick: an image ID or 'rescue', applied by the link lookup until
 * the next menu) and its label (menu_picked, for status). */
#define DB_SCHEMA_V8 \
"ALTER TABLE clients ADD COLUMN menu TEXT;\n" \
"ALTER TABLE clients ADD COLUMN menu_default TEXT;\n" \
"ALTER TABLE clients ADD COLUMN menu_timeout INTEGER;\n" \
"ALTER TABLE clients ADD COLUMN boot_pick TEXT;\n" \
"ALTER TABLE clients ADD COLUMN menu_picked TEXT;\n"

/* Version 9: commands to running PCs (reboot, poweroff, message), for
 * the boot they were given in (boot_seq): pending -> delivered -> acked,
 * or expired when the PC boots again. */
#define DB_SCHEMA_V9 \
"CREATE TABLE commands(\n" \
"  id INTEGER PRIMARY KEY,\n" \
"  mac TEXT NOT NULL REFERENCES clients(mac) ON DELETE CASCADE,\n" \
"  kind TEXT NOT NULL,             -- reboot | poweroff | message\n" \
"  text TEXT,                      -- message: what the PC shows\n" \
"  boot_seq INTEGER NOT NULL,      -- the boot it is for\n" \
"  state TEXT NOT NULL DEFAULT 'pending',\n" \
"  created TEXT NOT NULL, delivered TEXT, acked TEXT);\n" \
"CREATE INDEX commands_mac ON commands(mac, state);\n"

/* Version 10: canary releases (releases.h) and the agents' health
 * reports they are judged by. */
#define DB_SCHEMA_V10 \
"CREATE TABLE releases(\n" \
"  id INTEGER PRIMARY KEY,\n" \
"  image_id TEXT NOT NULL REFERENCES images(id) ON DELETE CASCADE,\n" \
"  version INTEGER NOT NULL,\n" \
"  started TEXT NOT NULL, started_unix INTEGER NOT NULL,\n" \
"  promote_after INTEGER NOT NULL, boot_within INTEGER NOT NULL,\n" \
"  healthy_since INTEGER,          -- unix: all canaries healthy since\n" \
"  state TEXT NOT NULL DEFAULT 'running', -- promoted | rolled_back\n" \
"  reason TEXT, ended TEXT);\n" \
"CREATE TABLE release_pcs(\n" \
"  release_id INTEGER NOT NULL REFERENCES releases(id) ON DELETE CASCADE,\n" \
"  mac TEXT NOT NULL REFERENCES clients(mac) ON DELETE CASCADE,\n" \
"  old_version INTEGER,            -- its pin before, NULL = none\n" \
"  boot_seq INTEGER NOT NULL,      -- its boots when the release began\n" \
"  PRIMARY KEY(release_id, mac));\n" \
"CREATE TABLE health(\n" \
"  mac TEXT PRIMARY KEY REFERENCES clients(mac) ON DELETE CASCADE,\n" \
"  boot_seq INTEGER NOT NULL, unix INTEGER NOT NULL,\n" \
"  system TEXT NOT NULL);\n"

/* Version 11: overnight pre-staging (prestage.h): a run per image version
 * and time, and each PC's part in it; the routed subnet a PC's magic
 * packets are also sent to (wol.h). */
#define DB_SCHEMA_V11 \
"CREATE TABLE prestages(\n" \
"  id INTEGER PRIMARY KEY,\n" \
"  image_id TEXT NOT NULL REFERENCES images(id) ON DELETE CASCADE,\n" \
"  version INTEGER NOT NULL,\n" \
"  at_unix INTEGER NOT NULL,         -- when the PCs are woken\n" \
"  stagger INTEGER NOT NULL,         -- seconds between two magic packets\n" \
"  created TEXT NOT NULL,\n" \
"  state TEXT NOT NULL DEFAULT 'scheduled', -- running | done\n" \
"  ended TEXT);\n" \
"CREATE TABLE prestage_pcs(\n" \
"  prestage_id INTEGER NOT NULL REFERENCES prestages(id) ON DELETE CASCADE,\n" \
"  mac TEXT NOT NULL REFERENCES clients(mac) ON DELETE CASCADE,\n" \
"  state TEXT NOT NULL DEFAULT 'pending', -- woken | done | failed | skipped\n" \
"  woken_unix INTEGER,\n" \
"  fetched INTEGER, bytes INTEGER, had INTEGER, -- blocks, bytes, blocks\n" \
"  reason TEXT,\n" \
"  PRIMARY KEY(prestage_id, mac));\n" \
"ALTER TABLE clients ADD COLUMN wake_subnet TEXT; -- CIDR: directed broadcast\n"

#endif
