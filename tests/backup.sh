#!/bin/bash
# `linkboot backup` while the server runs and a writer changes the link DB,
# then `linkboot restore` into a fresh state dir: the DB passes
# integrity_check, rows and image files are there and identical, and the
# restored state works. Restore refuses while a server holds the state dir.
. "$(dirname "$0")/lib.sh"
requires sqlite3 --version
requires jq --version

LB_STATE=$TMP/state
ID=0123456789abcdef
mkdir -p "$LB_STATE/store" "$LB_STATE/boot/$ID/v1"
lb client list >/dev/null || die "new state dir"
sqlite3 "$LB_STATE/linkboot.db" "
INSERT INTO images(id, name, size, production_version, created)
 VALUES('$ID', 'demo', 8388608, 1, '2026-11-25T00:00:00Z');
INSERT INTO versions(image_id, version, file, kernel, initrd, created)
 VALUES('$ID', 1, '$ID.v1', '$ID/v1/vmlinuz', '$ID/v1/initrd.img', 'x');" ||
	die "image rows"
head -c 8388608 /dev/urandom >"$LB_STATE/store/$ID.v1"
head -c 100000 /dev/urandom >"$LB_STATE/boot/$ID/v1/vmlinuz"
head -c 50000 /dev/urandom >"$LB_STATE/boot/$ID/v1/initrd.img"
for i in 1 2 3; do
	lb client add "52:54:00:cc:00:0$i" --image demo >/dev/null ||
		die "client add $i"
done

start_linkboot

# a writer, bounded in count, racing the backup
writer() {
	local i
	for ((i = 0; i < 150; i++)); do
		lb client add "$(printf '52:54:00:dd:%02x:%02x' $((i / 256)) $((i % 256)))" \
			--image demo >/dev/null 2>&1 || return 1
	done
}
writer &
wpid=$!
cleanup_fn "kill $wpid"
# let the writer get going, so the snapshot is taken mid-stream
clients_at_least() {
	[ "$(sqlite3 "$LB_STATE/linkboot.db" "SELECT count(*) FROM clients" \
		2>/dev/null || echo 0)" -ge "$1" ]
}
wait_for 20 clients_at_least 20 || die "writer made no progress"
lb backup "$TMP/bk" >"$TMP/backup.out" 2>&1 ||
	{ cat "$TMP/backup.out"; die "backup while serving and writing"; }
wait "$wpid" || die "writer failed (DB busy during backup?)"
assert_contains "$TMP/backup.out" "integrity ok" "backup checks its copy"
assert_contains "$TMP/backup.out" "backup complete" "backup done"
assert_alive "during backup"
[ -f "$TMP/bk/BACKUP" ] || die "no BACKUP info file"
cmp "$LB_STATE/store/$ID.v1" "$TMP/bk/store/$ID.v1" || die "store file differs"
cmp "$LB_STATE/boot/$ID/v1/vmlinuz" "$TMP/bk/boot/$ID/v1/vmlinuz" ||
	die "kernel differs"

# backup into a non-empty directory: usage error
lb backup "$TMP/bk" >"$TMP/out" 2>&1
[ $? -eq 2 ] || die "backup into a non-empty dir: want exit 2"
assert_contains "$TMP/out" "not empty" "non-empty DEST named"

# backup into the store it copies: usage error
lb backup "$LB_STATE/store/bk" >"$TMP/out" 2>&1
[ $? -eq 2 ] || die "backup into the store: want exit 2"
assert_contains "$TMP/out" "inside the directories" "DEST inside the store"
[ ! -e "$LB_STATE/store/bk" ] || die "refused backup left its directory"

# restore onto the running server's state: refused, says how to stop it
lb restore "$TMP/bk" >"$TMP/out" 2>&1 && die "restore while serving accepted"
assert_contains "$TMP/out" "stop it first" "restore refusal says how"

# restore into a fresh state dir
NEW=$TMP/new
"$LINKBOOT" restore --state "$NEW" "$TMP/bk" >"$TMP/restore.out" 2>&1 ||
	{ cat "$TMP/restore.out"; die "restore"; }
assert_eq "$(sqlite3 "$NEW/linkboot.db" 'PRAGMA integrity_check')" ok \
	"restored DB integrity"
n=$(sqlite3 "$NEW/linkboot.db" 'SELECT count(*) FROM clients')
[ "$n" -ge 3 ] && [ "$n" -le 153 ] || die "restored clients: $n"
assert_eq "$(sqlite3 "$NEW/linkboot.db" 'SELECT name FROM images')" demo \
	"restored image row"
assert_eq "$(sqlite3 "$NEW/linkboot.db" 'SELECT count(*) FROM sessions')" 0 \
	"no stale sessions"
cmp "$LB_STATE/store/$ID.v1" "$NEW/store/$ID.v1" || die "restored store file"
cmp "$LB_STATE/boot/$ID/v1/initrd.img" "$NEW/boot/$ID/v1/initrd.img" ||
	die "restored initrd"
"$LINKBOOT" client list --state "$NEW" -j >"$TMP/list.json" ||
	die "client list on the restored state"
assert_eq "$(jq length "$TMP/list.json")" "$n" "restored clients listed"
jq -e 'all(.[]; .image_missing == false)' "$TMP/list.json" >/dev/null ||
	die "restored clients see their image file"
"$LINKBOOT" status --state "$NEW" -j | jq -e . >/dev/null ||
	die "status on the restored state"
echo "backup: $n of 153 clients in the snapshot"
