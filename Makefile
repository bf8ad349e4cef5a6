# delegsync — the two commands a newcomer needs:
#   make demo   installs what is missing, builds, and runs the demo on loopback
#   make test   installs what is missing, builds, and runs the whole test suite
# Both run as root on Debian 12 (or with sudo available).

SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
APT_PACKAGES := make pkg-config libldns-dev ldnsutils libssl-dev libsqlite3-dev sqlite3 \
	bind9 bind9-dnsutils knot knot-dnsutils nsd python3 python3-cryptography postgresql
SWIFT ?= swift

.PHONY: deps build test demo bench bench-hostile fuzz fuzz-seeds clean

deps:
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
		echo "installing:$$missing"; \
		$(SUDO) apt-get update && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y $$missing; \
	fi
	@# The independent SIG(0) checker needs Python's cryptography for whichever python3 is first on PATH.
	@python3 -c 'import cryptography' 2>/dev/null || python3 -m pip install --quiet cryptography

build: deps
	$(SWIFT) build

test: deps
	$(SWIFT) build --build-tests
	$(SWIFT) test

demo: build
	integration/demo.sh

bench: deps
	$(SWIFT) build -c release --product SIG0Bench
	$(SWIFT) build -c release --product AgentBench
	.build/release/SIG0Bench
	.build/release/AgentBench

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

clean:
	rm -rf .build .build-fuzz
