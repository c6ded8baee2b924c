#!/bin/bash
# `linkboot backup` while the server runs and a writer changes the link DB,
# then `linkboot restore` into a fresh state dir: the DB passes
# integrity_check, rows and image files are there and identical, and the
# restored state works. Restore refuses while a server holds the state dir.
. "$(dirname "$0")/lib.sh"
requires sqlite3 --version
requires jq --version

LB_STATE=$TMP/state
. "$(dirname "$0")/lib-image.sh"
# a real image version through the image store: raw file, block hashes,
# kernel + initrd under <state>/boot
make_image "$TMP/disk.img"
echo "fake initrd" >"$TMP/initrd.img"
lb image add demo "$TMP/disk.img" --initrd "$TMP/initrd.img" >"$TMP/out" 2>&1 ||
	{ cat "$TMP/out"; die "image add"; }
ID=$(db "SELECT id FROM images WHERE name = 'demo'")
VFILE=$(db "SELECT file FROM versions WHERE image_id = '$ID' AND version = 1")
KERNEL=$(db "SELECT kernel FROM versions WHERE image_id = '$ID' AND version = 1")
KERNEL=${KERNEL#boot/}
[ -f "$LB_STATE/store/$VFILE" ] || die "image add: no store file $VFILE"
[ -f "$LB_STATE/boot/$KERNEL" ] || die "image add: no kernel $KERNEL"
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
# and a client writing to its kept server overlay over NBD
lb client add 52:54:00:cc:00:10 --image demo --write server >/dev/null ||
	die "server-overlay client"
lb client keep 52:54:00:cc:00:10 on >/dev/null || die "client keep"
tok=$(lb client token 52:54:00:cc:00:10 2>/dev/null)
nbd_writer() {
	local i
	for ((i = 0; i < 40; i++)); do
		qemu-io -f raw -c "write -P $((i % 256)) $((i * 65536)) 65536" \
			"nbd://127.0.0.1:$LB_NBD_PORT/$tok" >/dev/null 2>&1 ||
			return 1
	done
}
nbd_writer &
npid=$!
cleanup_fn "kill $npid"
# let the writer get going, so the snapshot is taken mid-stream
clients_at_least() {
	[ "$(sqlite3 "$LB_STATE/linkboot.db" "SELECT count(*) FROM clients" \
		2>/dev/null || echo 0)" -ge "$1" ]
}
wait_for 20 clients_at_least 20 || die "writer made no progress"
lb backup "$TMP/bk" >"$TMP/backup.out" 2>&1 ||
	{ cat "$TMP/backup.out"; die "backup while serving and writing"; }
wait "$wpid" || die "writer failed (DB busy during backup?)"
wait "$npid" || die "NBD writer failed during backup"
# the overlay now holds the last pattern at the last offset
qemu-io -f raw -r -c "read -P 39 $((39 * 65536)) 65536" \
	"nbd://127.0.0.1:$LB_NBD_PORT/$tok" >"$TMP/qio" 2>&1 ||
	{ cat "$TMP/qio"; die "NBD overlay after backup"; }
[ -f "$TMP/bk/overlays/52:54:00:cc:00:10.ovl" ] ||
	die "the backup has no copy of the client's overlay"
assert_contains "$TMP/backup.out" "integrity ok" "backup checks its copy"
assert_contains "$TMP/backup.out" "backup complete" "backup done"
assert_alive "during backup"
[ -f "$TMP/bk/BACKUP" ] || die "no BACKUP info file"
cmp "$LB_STATE/store/$VFILE" "$TMP/bk/store/$VFILE" || die "store file differs"
cmp "$LB_STATE/boot/$KERNEL" "$TMP/bk/boot/$KERNEL" || die "kernel differs"

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
[ "$n" -ge 3 ] && [ "$n" -le 154 ] || die "restored clients: $n"
assert_eq "$(sqlite3 "$NEW/linkboot.db" 'SELECT name FROM images')" demo \
	"restored image row"
assert_eq "$(sqlite3 "$NEW/linkboot.db" 'SELECT count(*) FROM sessions')" 0 \
	"no stale sessions"
cmp "$LB_STATE/store/$VFILE" "$NEW/store/$VFILE" || die "restored store file"
cmp "$LB_STATE/boot/$KERNEL" "$NEW/boot/$KERNEL" || die "restored kernel"
"$LINKBOOT" image list --state "$NEW" >"$TMP/images" 2>&1 ||
	{ cat "$TMP/images"; die "image list on the restored state"; }
assert_contains "$TMP/images" demo "restored image listed"
"$LINKBOOT" client list --state "$NEW" -j >"$TMP/list.json" ||
	die "client list on the restored state"
assert_eq "$(jq length "$TMP/list.json")" "$n" "restored clients listed"
jq -e 'all(.[]; .image_missing == false)' "$TMP/list.json" >/dev/null ||
	die "restored clients see their image file"
"$LINKBOOT" status --state "$NEW" -j | jq -e . >/dev/null ||
	die "status on the restored state"
echo "backup: $n of $(db "SELECT count(*) FROM clients") clients in the snapshot"

# what PCs wrote comes back too: a backup of the quiet state, restored
# elsewhere and served, reads the client's writes (kept overlay)
lb backup "$TMP/bk2" >/dev/null 2>&1 || die "second backup"
NEW2=$TMP/new2
"$LINKBOOT" restore --state "$NEW2" "$TMP/bk2" >/dev/null 2>&1 || die "restore 2"
kill "$LB_PID"; wait "$LB_PID" 2>/dev/null
LB_STATE=$NEW2 start_linkboot
tok2=$("$LINKBOOT" client token 52:54:00:cc:00:10 --state "$NEW2" 2>/dev/null) ||
	die "client token on the restored state"
for i in 0 17 39; do
	qemu-io -f raw -r -c "read -P $i $((i * 65536)) 65536" \
		"nbd://127.0.0.1:$LB_NBD_PORT/$tok2" >"$TMP/qio" 2>&1 ||
		{ cat "$TMP/qio"; die "restored overlay: block $i lost"; }
done
echo "restored overlay: the client's 40 writes read back"
