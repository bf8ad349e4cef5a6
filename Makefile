# delegsync — the two commands a newcomer needs:
#   make demo   installs what is missing, builds, and runs the demo on loopback
#   make test   installs what is missing, builds, and runs the whole test suite
# Both run as root on Debian 12 (or with sudo available).

SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
APT_PACKAGES := make pkg-config libldns-dev ldnsutils libssl-dev libsqlite3-dev sqlite3 \
	bind9 bind9-dnsutils knot knot-dnsutils nsd python3 python3-cryptography
SWIFT ?= swift

.PHONY: deps build test demo bench bench-hostile clean

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

clean:
	rm -rf .build
