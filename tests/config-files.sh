#!/bin/bash
# Config files, conf.d, environment and command line, read by `linkboot
# info` (the effective configuration) and `linkboot check`:
#   precedence default < file < conf.d (name order) < environment < argv;
#   unknown keys, bad values, unknown sections and [group:*]/[mac:*] are
#   errors naming file:line, and keys after any section are still read;
#   `linkboot check` exits 0 / 1 / 2 and -q keeps stdout empty.
source "$(dirname "$0")/lib.sh"

CONF=$TMP/etc		# a --config DIR: linkboot.conf + conf.d/*.conf
mkdir -p "$CONF/conf.d" "$TMP/ipxe"
: >"$TMP/ipxe/undionly.kpxe"
: >"$TMP/ipxe/snponly.efi"
# none of the host's LINKBOOT_* variables may leak in
for v in $(env | sed -n 's/^\(LINKBOOT_[A-Z_]*\)=.*/\1/p'); do unset "$v"; done

# value KEY [ARGS...]: KEY's effective value
value() {
	local key=$1; shift
	"$LINKBOOT" info --config "$CONF" "$@" >"$TMP/info.out" 2>"$TMP/info.err" ||
		{ cat "$TMP/info.err" >&2; die "linkboot info $* failed"; }
	sed -n "s/^$key = //p" "$TMP/info.out"
}

# fails FILE-CONTENT PATTERN MSG: a linkboot.conf of that content is refused
# by both info and check (exit 1) with PATTERN on stderr
fails() {
	printf '%b' "$1" >"$CONF/linkboot.conf"
	"$LINKBOOT" info --config "$CONF" >/dev/null 2>"$TMP/err" &&
		die "$3: accepted"
	"$LINKBOOT" check -q --config "$CONF" >"$TMP/out" 2>"$TMP/err2"
	assert_eq "$?" 1 "$3: check exit status"
	[ -s "$TMP/out" ] && die "$3: check -q printed on stdout"
	assert_contains "$TMP/err" "$2" "$3"
	assert_contains "$TMP/err2" "$2" "$3 (check)"
}

# --- defaults, no files at all
assert_eq "$(value http_port)" 80 "default http_port"
assert_eq "$(value tftp_port)" 69 "default tftp_port"

# --- linkboot.conf, then conf.d in name order; only *.conf files
cat >"$CONF/linkboot.conf" <<'EOF'
# a comment
; another
[server]
http_port = 8080
nbd_port = 1000
tftp_port = 1069
EOF
assert_eq "$(value http_port)" 8080 "linkboot.conf"
printf '[http]\nhttp_port = 8081\nnbd_port = 1001\n' >"$CONF/conf.d/10-a.conf"
printf '[http]\nhttp_port = 8082\n' >"$CONF/conf.d/20-b.conf"
printf 'http_port = 1\n' >"$CONF/conf.d/30-c.conf.bak"
printf 'http_port = 2\n' >"$CONF/conf.d/.40-hidden.conf"
printf 'no key here\n' >"$CONF/conf.d/README"
assert_eq "$(value http_port)" 8082 "conf.d: the last file in name order wins"
assert_eq "$(value nbd_port)" 1001 "conf.d: an earlier file's other keys stay"
assert_eq "$(value tftp_port)" 1069 "linkboot.conf keys not overridden stay"

# --- environment over files, command line over environment
assert_eq "$(LINKBOOT_HTTP_PORT=9000 value http_port)" 9000 "env over file"
assert_eq "$(LINKBOOT_HTTP_PORT=9000 value http_port --http-port 9100)" 9100 \
	"argv over env"
assert_eq "$(LINKBOOT_HTTP_PORT=9000 value http_port --http-port=9101)" 9101 \
	"argv --key=value over env"
assert_eq "$(value nbd_port --nbd-port 7)" 7 "argv over conf.d"
# "key =" (or --key=) is the built-in default again
printf 'efi_loader = custom.efi\n' >"$CONF/conf.d/50-loader.conf"
assert_eq "$(value efi_loader)" custom.efi "efi_loader from conf.d"
assert_eq "$(value efi_loader --efi-loader=)" snponly.efi "--key= resets"
printf 'efi_loader =\n' >"$CONF/conf.d/60-reset.conf"
assert_eq "$(value efi_loader)" snponly.efi "'key =' resets"
rm -f "$CONF"/conf.d/*.conf
# --config FILE reads only that file; LINKBOOT_CONFIG names one too
printf 'http_port = 8181\n' >"$TMP/only.conf"
"$LINKBOOT" info --config "$TMP/only.conf" | grep -qx 'http_port = 8181' ||
	die "--config FILE"
LINKBOOT_CONFIG=$TMP/only.conf "$LINKBOOT" info | grep -qx 'http_port = 8181' ||
	die "LINKBOOT_CONFIG"
"$LINKBOOT" info --config "$TMP/missing.conf" >/dev/null 2>"$TMP/err" &&
	die "a missing --config FILE was accepted"
assert_contains "$TMP/err" "missing.conf: cannot open" "missing --config"

# --- every section's keys are read, whatever comes before them
printf '[tftp]\ntftp_port = 11\n[nbd]\nnbd_port = 12\n[defaults]\nhttp_port = 13\n' \
	>"$CONF/linkboot.conf"
assert_eq "$(value tftp_port)/$(value nbd_port)/$(value http_port)" 11/12/13 \
	"keys in [tftp], [nbd], [defaults]"

# --- errors name file:line; keys after a bad section are still checked
fails '[server]\nhttp_port = 8080\nbogus_key = 1\n' \
	"linkboot.conf:3: unknown key 'bogus_key'" "unknown key"
fails '[server]\n[group:lab]\nhttp_port = 8080\n' \
	'linkboot.conf:2: \[group:lab\]: per-group settings live in the link DB.*client set --group G' \
	"[group:] section"
fails '[mac:52:54:00:12:34:56]\nimage = x\n' \
	'linkboot.conf:1: \[mac:52:54:00:12:34:56\]: per-PC settings live in the link DB.*client set MAC' \
	"[mac:] section"
fails '[group:lab]\nnbd_port = 99999\n' \
	"linkboot.conf:2: bad value '99999' for 'nbd_port'" \
	"a key after [group:] is read (and checked)"
fails '[mac:52:54:00:12:34:56]\nimage = x\n' \
	"linkboot.conf:2: unknown key 'image'" "a key after [mac:] is read"
fails '[htpp]\nhttp_port = 1\n' "linkboot.conf:1: unknown section \[htpp\]" \
	"unknown section"
fails '[server\n' "linkboot.conf:1: expected \[section\]" "broken section"
fails 'http_port 80\n' "linkboot.conf:1: expected key = value" "no ="
fails 'tftp_port = 70000\n' "linkboot.conf:1: bad value '70000' for 'tftp_port' \(expected PORT\)" \
	"port out of range"
fails 'http_timeout = soon\n' "linkboot.conf:1: bad value 'soon' for 'http_timeout'" \
	"not a number"
fails 'listen = 198.18.0\n' "linkboot.conf:1: bad value '198.18.0' for 'listen' \(expected ADDR\)" \
	"bad address"
fails 'dhcp_range = 198.18.0.20,198.18.0.10\n' \
	"linkboot.conf:1: bad value .* for 'dhcp_range'" "range END < START"
fails 'trusted_net = 198.18.0.0/33\n' \
	"linkboot.conf:1: bad value .* for 'trusted_net'" "CIDR /33"
fails 'dhcp = maybe\n' "linkboot.conf:1: bad value 'maybe' for 'dhcp'" "dhcp mode"
fails 'router_advert = perhaps\n' "linkboot.conf:1: bad value 'perhaps' for 'router_advert'" \
	"boolean"
fails 'config = /etc/other.conf\n' "linkboot.conf:1: 'config' names the file to read" \
	"config key in a file"
fails "http_port = 1\nroot = /$(head -c 1100 /dev/zero | tr '\0' x)\nnbd_port = x\n" \
	"linkboot.conf:2: line longer than" "long line"
assert_contains "$TMP/err" "linkboot.conf:3: bad value 'x' for 'nbd_port'" \
	"the line after a long one is line 3"
# every error of a file is reported, not just the first
fails 'a = 1\nb = 2\n' "linkboot.conf:2: unknown key 'b'" "second error reported"
assert_contains "$TMP/err" "linkboot.conf:1: unknown key 'a'" "first error reported"
# conf.d errors name their file
printf 'http_port = 80\n' >"$CONF/linkboot.conf"
printf '\n\nnbd_port = -1\n' >"$CONF/conf.d/10-bad.conf"
"$LINKBOOT" info --config "$CONF" >/dev/null 2>"$TMP/err" && die "bad conf.d accepted"
assert_contains "$TMP/err" "conf.d/10-bad.conf:3: bad value '-1' for 'nbd_port'" \
	"conf.d error names its file"
rm -f "$CONF/conf.d/10-bad.conf"
# environment and argv values are checked too
LINKBOOT_HTTP_PORT=http "$LINKBOOT" info --config "$CONF" >/dev/null 2>"$TMP/err" &&
	die "bad environment value accepted"
assert_contains "$TMP/err" "environment LINKBOOT_HTTP_PORT: bad value 'http'" "env error"
"$LINKBOOT" info --config "$CONF" --nbd-port x >/dev/null 2>"$TMP/err"
assert_eq "$?" 2 "bad argv value: usage error"
assert_contains "$TMP/err" "bad value 'x' for --nbd-port" "argv error"

# --- linkboot check: 0 ok, 1 error, 2 usage; -q prints nothing when ok
printf '[server]\nipxe_dir = %s\n' "$TMP/ipxe" >"$CONF/linkboot.conf"
"$LINKBOOT" check --config "$CONF" >"$TMP/out" 2>&1 || die "check of a good config"
assert_contains "$TMP/out" "configuration ok" "check says ok"
out=$("$LINKBOOT" check -q --config "$CONF" 2>&1) || die "check -q of a good config"
assert_eq "$out" "" "check -q is silent when ok"
"$LINKBOOT" check --bogus --config "$CONF" >/dev/null 2>&1
assert_eq "$?" 2 "check with a bad argument"
"$LINKBOOT" check -q --config "$CONF" --efi-loader missing.efi >"$TMP/out" 2>"$TMP/err"
assert_eq "$?" 1 "check with a missing boot file"
assert_contains "$TMP/err" "boot file missing.efi not found" "missing loader reported"
echo "PASS: $TEST_NAME"
