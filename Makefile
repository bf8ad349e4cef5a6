# delegsync — the two commands a newcomer needs:
#   make demo   installs what is missing, builds, and runs the demo on loopback
#   make test   installs what is missing, builds, and runs the whole test suite
# Both run as root on Debian 12 (or with sudo available).

SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
# The snippet tests load docs/ and contrib/ in every server's checker (bind9-utils,
# knot-dnssecutils, nsd); the install test renders the man pages (man-db, groff-base).
APT_PACKAGES := make pkg-config libldns-dev ldnsutils libssl-dev libsqlite3-dev sqlite3 \
	bind9 bind9-utils bind9-dnsutils knot knot-dnssecutils knot-dnsutils nsd python3 python3-cryptography \
	man-db groff-base postgresql
# promtool checks and unit-tests contrib/prometheus; Debian ships it in the Prometheus server's
# package (about 20 MB), installed without the node exporter it recommends.
APT_PACKAGES_NO_RECOMMENDS := prometheus
SWIFT ?= swift

.PHONY: deps build test demo bench bench-hostile fuzz fuzz-seeds clean man binary install

deps:
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	bare=""; for p in $(APT_PACKAGES_NO_RECOMMENDS); do dpkg -s $$p >/dev/null 2>&1 || bare="$$bare $$p"; done; \
	if [ -n "$$missing$$bare" ]; then \
		echo "installing:$$missing$$bare"; \
		$(SUDO) apt-get update && \
		{ [ -z "$$missing" ] || DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y $$missing; } && \
		{ [ -z "$$bare" ] || DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y --no-install-recommends $$bare; }; \
	fi
	@# The independent SIG(0) checker needs Python's cryptography for whichever python3 is first on PATH.
	@python3 -c 'import cryptography' 2>/dev/null || python3 -m pip install --quiet cryptography

build: deps
	$(SWIFT) build

# The man pages are made before the tests run: the install test installs them, and cannot run
# the plugin itself while `swift test` holds the build directory.
test: deps
	$(SWIFT) build --build-tests
	$(MAKE) man CONFIGURATION=debug
	$(SWIFT) test

demo: build
	integration/demo.sh

# CommitBench starts its own BIND on loopback and a real `delegsync serve` (as root; see its header).
# StoreBench (issue 15) starts BIND and PostgreSQL on loopback, as root; STOREBENCH_CHILDREN
# (default 1000000) and STOREBENCH_SECONDS (per load phase, default 15) make it smaller or longer.
bench: deps
	$(SWIFT) build -c release --product SIG0Bench
	$(SWIFT) build -c release --product AgentBench
	$(SWIFT) build -c release --product delegsync
	$(SWIFT) build -c release --product CommitBench
	$(SWIFT) build -c release --product StoreBench
	.build/release/SIG0Bench
	.build/release/AgentBench
	.build/release/CommitBench
	.build/release/StoreBench

# A real serve and BIND parent, quiet and then under a hostile load (as root; HOSTILE_SECONDS=30).
bench-hostile: deps
	$(SWIFT) build -c release --product delegsync
	$(SWIFT) build -c release --product HostileBench
	.build/release/HostileBench

# Fuzzing (docs/fuzzing.md): both libFuzzer targets with AddressSanitizer, FUZZ_TIME seconds
# each, from the committed seeds; new inputs go to .build-fuzz/corpus, a crash to FUZZ_ARTIFACTS
# and fails the run. Not part of `make test`.
FUZZ_TIME ?= 90
FUZZ_MAX_LEN ?= 17000
FUZZ_LEAKS ?= 0
FUZZ_ARTIFACTS ?= $(CURDIR)/.build-fuzz/artifacts
FUZZ_BUILD := $(SWIFT) build -c release --scratch-path .build-fuzz \
	-Xswiftc -sanitize=fuzzer,address -Xswiftc -DFUZZING -Xswiftc -enable-testing

fuzz: deps
	$(FUZZ_BUILD) --product ReceiverFuzz
	$(FUZZ_BUILD) --product ChildFuzz
	@mkdir -p $(FUZZ_ARTIFACTS)
	@bin=$$($(FUZZ_BUILD) --show-bin-path); \
	for target in receiver:ReceiverFuzz child:ChildFuzz; do \
		name=$${target%%:*}; binary=$${target#*:}; \
		mkdir -p .build-fuzz/corpus/$$name; \
		echo "== $$binary: $(FUZZ_TIME) s"; \
		SWIFT_BACKTRACE=enable=no LSAN_OPTIONS=suppressions=$(CURDIR)/Fuzz/lsan.supp \
		$$bin/$$binary .build-fuzz/corpus/$$name Fuzz/Corpus/$$name -detect_leaks=$(FUZZ_LEAKS) \
			-max_total_time=$(FUZZ_TIME) -max_len=$(FUZZ_MAX_LEN) -timeout=10 -print_final_stats=1 \
			-artifact_prefix=$(FUZZ_ARTIFACTS)/$$name- || { echo "$$binary failed: see $(FUZZ_ARTIFACTS)"; exit 1; }; \
	done

# Rewrites the committed seed corpora (Fuzz/Corpus) from the project's own encoder and signer.
fuzz-seeds:
	$(SWIFT) build --product FuzzSeeds
	$$($(SWIFT) build --show-bin-path)/FuzzSeeds Fuzz/Corpus Tests/SIG0Tests/Vectors

# Installing (as root, or into a staging directory with DESTDIR):
#   make install [PREFIX=/usr/local] [DESTDIR=] [SYSCONFDIR=/etc]
# builds the release binary and the man pages, then installs
#   $(BINDIR)/delegsync                bin, not sbin: besides the daemon it is the command line that
#                                      operators, child zones' scripts and cron jobs run, often
#                                      as users whose PATH has no sbin
#   $(MANDIR)/man8/delegsync*.8        delegsync(8) and one page per subcommand (section 8: system
#                                      administration)
#   $(SYSTEMDUNITDIR)/*.service        the units of contrib/systemd, with the binary's, the docs' and
#                                      the configuration's paths set to these directories; PREFIX-
#                                      relative, as systemd reads /usr/local/lib/systemd/system
#                                      (and /usr/lib/systemd/system for PREFIX=/usr)
#   $(LIBEXECDIR)/delegsync/           hooks/delegsync-child-sync
#   $(DOCDIR)/                         README.md, docs/*.md, hooks.md, examples/ (contrib/)
#   $(SYSCONFDIR)/delegsync/           delegsync.yaml and child.yaml from the samples, only where
#                                      no such file exists (an existing configuration is kept)
# CONFIGURATION=debug builds and installs the debug build; BINARY=PATH installs that binary and
# builds none, MAN_PAGES=DIR the pages in DIR and generates none (the install test stages the
# tests' own build and the pages `make test` made that way).
PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
MANDIR ?= $(PREFIX)/share/man
DOCDIR ?= $(PREFIX)/share/doc/delegsync
LIBEXECDIR ?= $(PREFIX)/libexec
SYSTEMDUNITDIR ?= $(PREFIX)/lib/systemd/system
SYSCONFDIR ?= /etc
CONFIGURATION ?= release
BINARY ?= .build/$(CONFIGURATION)/delegsync

binary:
	$(SWIFT) build -c $(CONFIGURATION) --product delegsync

# The man pages, from the ArgumentParser definitions: swift-argument-parser's generate-manual
# plugin builds the package ($(CONFIGURATION)) and asks the binary for its commands. Dated by
# the last commit, so the same source gives the same pages.
MAN_PAGES ?= .build/man
MAN_DATE ?= $(shell git log -1 --format=%cs 2>/dev/null || date +%F)
MAN_PLUGIN_OUTPUT := .build/plugins/GenerateManual/outputs/delegsync

man:
	rm -rf $(MAN_PLUGIN_OUTPUT) $(MAN_PAGES)
	$(SWIFT) package plugin generate-manual --configuration $(CONFIGURATION) --multi-page --section 8 --date $(MAN_DATE)
	mkdir -p $(MAN_PAGES)
	cp $(MAN_PLUGIN_OUTPUT)/*.8 $(MAN_PAGES)/

install: $(if $(filter file,$(origin BINARY)),binary) $(if $(filter file,$(origin MAN_PAGES)),man)
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man8 $(DESTDIR)$(SYSTEMDUNITDIR) \
		$(DESTDIR)$(LIBEXECDIR)/delegsync $(DESTDIR)$(DOCDIR)/examples $(DESTDIR)$(SYSCONFDIR)/delegsync
	install -m 755 $(BINARY) $(DESTDIR)$(BINDIR)/delegsync
	install -m 644 $(MAN_PAGES)/*.8 $(DESTDIR)$(MANDIR)/man8/
	@# The units are written for PREFIX=/usr/local and SYSCONFDIR=/etc.
	for unit in contrib/systemd/*.service; do \
		sed -e 's#/usr/local/bin/#$(BINDIR)/#g' -e 's#/usr/local/share/doc/delegsync/#$(DOCDIR)/#g' \
			-e 's#/etc/delegsync/#$(SYSCONFDIR)/delegsync/#g' "$$unit" > $(DESTDIR)$(SYSTEMDUNITDIR)/$$(basename "$$unit") && \
		chmod 644 $(DESTDIR)$(SYSTEMDUNITDIR)/$$(basename "$$unit") || exit 1; \
	done
	install -m 755 hooks/delegsync-child-sync $(DESTDIR)$(LIBEXECDIR)/delegsync/
	install -m 644 README.md docs/*.md $(DESTDIR)$(DOCDIR)/
	install -m 644 hooks/README.md $(DESTDIR)$(DOCDIR)/hooks.md
	install -m 644 contrib/*.yaml $(DESTDIR)$(DOCDIR)/examples/
	for dir in contrib/*/; do \
		install -d $(DESTDIR)$(DOCDIR)/examples/$$(basename "$$dir") && \
		install -m 644 "$$dir"* $(DESTDIR)$(DOCDIR)/examples/$$(basename "$$dir")/ || exit 1; \
	done
	@for sample in delegsync.yaml:delegsync.yaml delegsync-child.yaml:child.yaml; do \
		target=$(DESTDIR)$(SYSCONFDIR)/delegsync/$${sample#*:}; \
		if [ -e "$$target" ]; then echo "kept $$target (the sample is in $(DOCDIR)/examples)"; \
		else install -m 644 contrib/$${sample%%:*} "$$target" && echo "installed the sample $$target: edit it" || exit 1; fi; \
	done

clean:
	rm -rf .build .build-fuzz
