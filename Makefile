# linkboot — diskless network boot server and client agent.
#
#   make            build/linkboot (server + CLI), build/linkboot-agent (client /init)
#   make check      unit tests (plain and ASan/UBSan), fuzz smoke, integration
#                   and e2e tests against real clients (tests/run.sh)
#   make demo       build, fetch a Debian kernel, make a demo image, PXE-boot
#                   a QEMU PC from the server, print timeline and cache stats
#   make deps       apt-install every build/test/demo dependency (idempotent)
#   make fuzz       run each libFuzzer target for FUZZ_SECONDS
#   make install    PREFIX=/usr/local DESTDIR=

CC       ?= cc
CLANG    ?= clang
PREFIX   ?= /usr/local
SBINDIR  ?= $(PREFIX)/sbin
LIBDIR   ?= $(PREFIX)/lib/linkboot
DATADIR  ?= $(PREFIX)/share/linkboot
UNITDIR  ?= $(PREFIX)/lib/systemd/system
SYSCONFDIR ?= /etc
MANDIR   ?= $(PREFIX)/share/man
FUZZ_SECONDS ?= 20

BUILD    ?= build
WARN      = -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes
CFLAGS   ?= -O2 -g
CPPFLAGS += -std=c11 -D_GNU_SOURCE -Iinclude -Ilib -MMD -MP \
            -DLINKBOOT_LIBDIR='"$(LIBDIR)"'

# Every build is hardened: network-facing C. FORTIFY turns a detectable
# overflow of a known-size buffer into an abort; the stack protector and
# clash protection catch what it cannot see; full RELRO and BIND_NOW make
# the GOT read-only. The sanitizer build leaves FORTIFY out: ASan checks
# the same calls itself and the two interpose on the same functions.
HARDEN_CFLAGS  := -fstack-protector-strong -fstack-clash-protection \
                  -fcf-protection -Wformat -Wformat-security
FORTIFY        := -U_FORTIFY_SOURCE -D_FORTIFY_SOURCE=2
HARDEN_LDFLAGS := -Wl,-z,relro -Wl,-z,now -Wl,-z,noexecstack

ifeq ($(SAN),1)
BUILD    := build/asan
SANFLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
FORTIFY  :=
endif

ALL_CFLAGS = $(CPPFLAGS) $(FORTIFY) $(CFLAGS) $(WARN) $(HARDEN_CFLAGS) $(SANFLAGS)
LDFLAGS   += $(HARDEN_LDFLAGS)

# The server in four parts (README "Layout"): the boot services on the
# network, the image store, the link DB, the command line.
SERVER_DIRS := server-stub/net server-stub/store server-stub/linkdb server-stub/cli
SERVER_INC  := $(addprefix -I,$(SERVER_DIRS))

LIB_SRCS    := $(filter-out lib/fuzz_%.c,$(wildcard lib/*.c))
SERVER_SRCS := $(filter-out server-stub/cli/main.c,$(wildcard $(addsuffix /*.c,$(SERVER_DIRS))))
AGENT_SRCS  := $(filter-out agent/main.c agent/fuzz_%.c,$(wildcard agent/*.c))
UNIT_SRCS   := $(wildcard tests/unit/test_*.c)
FUZZ_SRCS   := $(wildcard lib/fuzz_*.c)
SERVER_FUZZ_SRCS := $(wildcard server-stub/fuzz/fuzz_*_server.c)

obj = $(patsubst %.c,$(BUILD)/%.o,$(1))

SERVER_LIBS := -lsqlite3 -lblkid -lext2fs -lcom_err -lz -lsodium -lm
AGENT_LIBS  := -lblkid -lz -lsodium -lm
# The agent is the initramfs /init: link it statically so the initramfs needs
# no libraries (not with sanitizers, which need the dynamic runtime).
ifneq ($(SAN),1)
# The agent runs as the PC's /init, downloaded on every boot inside the
# initramfs: no DWARF (345 KB of the gzip'ed core), symbols kept for
# backtraces. AGENT_STRIP= keeps the debug info.
AGENT_STRIP   ?= -Wl,--strip-debug
AGENT_LDFLAGS := -static $(AGENT_STRIP)
endif

UNIT_BINS := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRCS))

.PHONY: all check unit unit-asan integration fuzz fuzz-build demo deps install clean
.SUFFIXES:
.SECONDARY:

all: $(BUILD)/linkboot $(BUILD)/linkboot-agent

$(BUILD)/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

# server headers are found by name from the server and its unit tests
$(BUILD)/server-stub/%.o $(BUILD)/tests/unit/%.o: CPPFLAGS += $(SERVER_INC)

$(BUILD)/liblb.a: $(call obj,$(LIB_SRCS))
	@mkdir -p $(@D)
	rm -f $@ && ar rcs $@ $^

$(BUILD)/libserver.a: $(call obj,$(SERVER_SRCS))
	@mkdir -p $(@D)
	rm -f $@ && ar rcs $@ $^

$(BUILD)/libagent.a: $(call obj,$(AGENT_SRCS))
	@mkdir -p $(@D)
	rm -f $@ && ar rcs $@ $^

$(BUILD)/linkboot: $(BUILD)/server-stub/cli/main.o $(BUILD)/libserver.a $(BUILD)/liblb.a
	$(CC) $(SANFLAGS) -o $@ $^ $(LDFLAGS) $(SERVER_LIBS)

$(BUILD)/linkboot-agent: $(BUILD)/agent/main.o $(BUILD)/libagent.a $(BUILD)/liblb.a
	$(CC) $(SANFLAGS) $(AGENT_LDFLAGS) -o $@ $^ $(LDFLAGS) $(AGENT_LIBS)

# Unit tests link the module archives: each test pulls only what it calls.
$(BUILD)/tests/%: $(BUILD)/tests/unit/%.o $(BUILD)/libserver.a $(BUILD)/libagent.a $(BUILD)/liblb.a
	@mkdir -p $(@D)
	$(CC) $(SANFLAGS) -o $@ $^ $(LDFLAGS) -lcmocka $(SERVER_LIBS)

unit: $(UNIT_BINS)
	@set -e; for t in $(UNIT_BINS); do echo "== $$t"; $$t; done

unit-asan:
	$(MAKE) SAN=1 unit

# libFuzzer targets. lib/fuzz_<parser>.c: the parser with the lib sources
# only. server-stub/fuzz/fuzz_<proto>_server.c: the protocol module's connections
# in-process, linked with every server and lib object (fuzz_fixture.c: the
# state dir, the loop driver). UB stops a fuzzer like a crash does.
FUZZ_SAN  := -fsanitize=address,undefined -fno-sanitize-recover=all
FUZZ_BINS := $(patsubst lib/%.c,build/fuzz/%,$(FUZZ_SRCS)) \
             $(patsubst server-stub/fuzz/%.c,build/fuzz/%,$(SERVER_FUZZ_SRCS)) \
             build/fuzz/fuzz_ssdcache
fuzzobj    = $(patsubst %.c,build/fuzz/obj/%.o,$(1))

build/fuzz/%: lib/%.c $(LIB_SRCS)
	@mkdir -p $(@D)
	$(CLANG) $(CPPFLAGS) -O1 -g -fsanitize=fuzzer $(FUZZ_SAN) -o $@ $(filter %.c,$^) -lz -lsodium

# the agent's SSD cache on a damaged or hostile disk (agent/fuzz_ssdcache.c)
build/fuzz/fuzz_ssdcache: agent/fuzz_ssdcache.c agent/ssdcache.c $(LIB_SRCS)
	@mkdir -p $(@D)
	$(CLANG) $(CPPFLAGS) $(WARN) -Iagent -O1 -g -fsanitize=fuzzer $(FUZZ_SAN) -o $@ $(filter %.c,$^) -lz -lsodium

build/fuzz/obj/%.o: %.c
	@mkdir -p $(@D)
	$(CLANG) $(CPPFLAGS) $(WARN) -O1 -g -fsanitize=fuzzer-no-link $(FUZZ_SAN) -c -o $@ $<

build/fuzz/obj/server-stub/%.o: CPPFLAGS += $(SERVER_INC)
build/fuzz/fuzz_%_server: $(call fuzzobj,server-stub/fuzz/fuzz_%_server.c \
		server-stub/fuzz/fuzz_fixture.c $(SERVER_SRCS) $(LIB_SRCS))
	$(CLANG) -fsanitize=fuzzer $(FUZZ_SAN) -o $@ $^ $(SERVER_LIBS)

fuzz-build: $(FUZZ_BINS)

# Each target for FUZZ_SECONDS from its seeds (lib/<name>.d or
# server-stub/<name>.d) and its corpus. The full output is kept in
# build/fuzz/<name>.log; a crash, leak, UB or timeout fails the run, naming
# the input libFuzzer saved (build/fuzz/<name>-crash-...). -close_fd_mask=3:
# the targets' own output (server log lines) is dropped, libFuzzer's and the
# sanitizers' reports are not.
fuzz: $(FUZZ_BINS)
	@failed=; for f in $(FUZZ_BINS); do \
		n=$${f##*/}; corpus=build/fuzz/$$n.corpus; log=build/fuzz/$$n.log; \
		mkdir -p $$corpus; seeds=; \
		for d in lib/$$n.d server-stub/fuzz/$$n.d agent/$$n.d; do if [ -d $$d ]; then seeds=$$d; fi; done; \
		echo "== $$n ($(FUZZ_SECONDS) s)"; \
		if $$f -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 \
			-close_fd_mask=3 -artifact_prefix=build/fuzz/$$n- \
			$$corpus $$seeds >$$log 2>&1; then rc=0; else rc=$$?; fi; \
		grep -E '^#[0-9]+[[:space:]]+DONE' $$log; tail -n 3 $$log; \
		if [ $$rc -ne 0 ]; then \
			grep -E '^==[0-9]+==ERROR|runtime error:|^SUMMARY|Test unit written to' $$log; \
			echo "== $$n FAILED (exit $$rc), full output: $$log"; \
			failed="$$failed $$n"; \
		fi; \
	done; \
	if [ -n "$$failed" ]; then echo "fuzz: failed:$$failed"; exit 1; fi

integration: all
	tests/run.sh

# the ASan/UBSan server binary for tests/e2e/asan-server.sh (objects shared
# with unit-asan)
check: all unit unit-asan
	$(MAKE) SAN=1 build/asan/linkboot
	$(MAKE) fuzz FUZZ_SECONDS=5
	tests/run.sh

demo: deps all
	scripts/demo.sh

deps:
	scripts/deps.sh

install: all
	install -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(LIBDIR) $(DESTDIR)$(DATADIR)/ipxe \
		$(DESTDIR)$(UNITDIR) $(DESTDIR)$(SYSCONFDIR)/linkboot/conf.d
	install -m 0755 $(BUILD)/linkboot $(DESTDIR)$(SBINDIR)/linkboot
	install -m 0755 $(BUILD)/linkboot-agent $(DESTDIR)$(LIBDIR)/linkboot-agent
	install -m 0644 ipxe-embed/*.ipxe $(DESTDIR)$(DATADIR)/ipxe/
	install -d $(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(MANDIR)/man8
	install -m 0644 man/linkboot.conf.5 $(DESTDIR)$(MANDIR)/man5/
	install -m 0644 man/linkboot.8 man/linkboot-agent.8 $(DESTDIR)$(MANDIR)/man8/
	sed 's|@SBINDIR@|$(SBINDIR)|g' dist/linkboot.service.in \
		> $(DESTDIR)$(UNITDIR)/linkboot.service
	[ -e $(DESTDIR)$(SYSCONFDIR)/linkboot/linkboot.conf ] || \
		install -m 0644 dist/linkboot.conf $(DESTDIR)$(SYSCONFDIR)/linkboot/linkboot.conf

clean:
	rm -rf build

-include $(shell find build -name '*.d' 2>/dev/null)

# Test tools (tests/tools/*.c): small clients built on lib/ for the
# integration tests (dhcp_probe: proxyDHCP offers and option variants;
# ssdcache_tool: the agent's SSD cache killed mid-write; agent_reads: the
# agent's serve loop playing nbd.ko across server closes).
TOOL_BINS := $(patsubst tests/tools/%.c,$(BUILD)/tests/tools/%,$(wildcard tests/tools/*.c))
$(BUILD)/tests/tools/%: $(BUILD)/tests/tools/%.o $(BUILD)/libagent.a $(BUILD)/liblb.a
	$(CC) $(SANFLAGS) -o $@ $^ $(LDFLAGS) $(AGENT_LIBS) -lpthread
all: $(TOOL_BINS)
# LD_PRELOAD shims for the tests (tests/tools/preload/*.c; pread_eio: a
# disk with a bad stretch). Never sanitized: ASan's runtime must be the
# first library of the process it is preloaded into.
PRELOAD_LIBS := $(patsubst tests/tools/preload/%.c,$(BUILD)/tests/tools/%.so,$(wildcard tests/tools/preload/*.c))
$(BUILD)/tests/tools/%.so: tests/tools/preload/%.c
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(WARN) -fPIC -shared -o $@ $< -ldl
all: $(PRELOAD_LIBS)

# iSCSI peer benchmark (not part of check): bench/iscsi_storm.c, a libiscsi
# load generator, then bench/iscsi-peers.sh (linkboot vs tgtd).
ISCSI_STORM := $(BUILD)/bench/iscsi_storm
$(ISCSI_STORM): bench/iscsi_storm.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(WARN) -o $@ $< $(LDFLAGS) -liscsi
.PHONY: bench-iscsi bench-iscsi-build
bench-iscsi-build: $(ISCSI_STORM)
bench-iscsi: all $(ISCSI_STORM)
	ISCSI_STORM=$(abspath $(ISCSI_STORM)) bench/iscsi-peers.sh

# NBD boot storm (not part of check): bench/nbd_storm.c, a libnbd load
# generator, then bench/storm.sh (linkboot vs nbdkit and qemu-nbd).
NBD_STORM := $(BUILD)/bench/nbd_storm
$(NBD_STORM): bench/nbd_storm.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(WARN) -o $@ $< $(LDFLAGS) -lnbd
# agent_storm: the same room made of agents (their client, cache and
# block verification; bench/agent_storm.c), STORM_CLIENT=agent bench/storm.sh
AGENT_STORM := $(BUILD)/bench/agent_storm
$(AGENT_STORM): bench/agent_storm.c bench/agent_bench.c bench/agent_bench.h \
		$(BUILD)/libagent.a $(BUILD)/liblb.a
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(WARN) -o $@ $(filter %.c %.a,$^) \
		$(AGENT_LIBS) -pthread
.PHONY: bench-storm
bench-storm: all $(NBD_STORM) $(AGENT_STORM)
	NBD_STORM=$(abspath $(NBD_STORM)) AGENT_STORM=$(abspath $(AGENT_STORM)) \
		bench/storm.sh
