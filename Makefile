# MailLab: thin wrappers. Every target that builds or tests first makes sure the Debian
# packages are there (`deps`), so each works alone on a machine with only the Swift toolchain.

SWIFT        ?= swift
BUILD        ?= .build/debug
LAB          ?= seed
CONF         ?= conf/smtpd-local.conf
# System packages: build (libmnl-dev, libssl-dev, libcrypt-dev, pkg-config) and the real clients, servers
# and readers the tests talk to.
DEB_PACKAGES := libmnl-dev libssl-dev libcrypt-dev pkg-config openssl iproute2 python3 curl swaks \
                netcat-openbsd python3-aiosmtpd mblaze librsvg2-bin tmux
DEB_PACKAGES += dnsmasq-base   # the lab DNS server (conf/lab-mail.conf, DNSClient tests), run through `run NS -- dnsmasq`; the package starts no service

.PHONY: deps build test run fmt lint lab-up lab-down demo demo-mail bench bench-config bench-lab mlab-fast clean

deps:
	@missing=""; for p in $(DEB_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  SUDO=""; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing; \
	fi

build: deps
	$(SWIFT) build

# Tests run in parallel; namespace tests need root and skip themselves otherwise.
test: deps
	$(SWIFT) build
	$(SWIFT) test --parallel
	@# A user's package testing its mail code with the `.mailServer` trait (docs/TESTING.md).
	cd Examples/MailServerTrait && $(SWIFT) test

# The main job on the embedded default: smtpd on localhost:2525, delivering to ./maildir.
run: build
	$(BUILD)/smtpd -d -f $(CONF) -T smtp

fmt:
	$(SWIFT) format -i -r Sources Tests Examples Package.swift

lint:
	$(SWIFT) format lint -r Sources Tests Examples Package.swift

lab-up: build
	$(BUILD)/mlab lab up conf/lab-$(LAB).conf

lab-down: build
	$(BUILD)/mlab lab down conf/lab-$(LAB).conf

demo: build
	scripts/demo.sh

# The mail lab (conf/lab-mail.conf): gruen -> blau (relay by MX, DNS from the lab's dnsmasq)
# -> rot's Maildir, a queued message delivered after rot comes back, lab down (root).
demo-mail: build
	scripts/demo-mail.sh

bench: deps
	bench/run.sh

# smtpd -n on 1k/10k/20k/40k match rules (BENCHMARKS.md, "Config parsing").
bench-config: deps
	$(SWIFT) build -c release --product smtpd
	bench/config-scaling.sh

# mlab linked to start fast (README "Performance"): the Swift runtime, libstdc++ and libgcc
# linked in and no PIE, so the loader maps only libc, libm and libmnl and relocates almost
# nothing. Half of a lab verb's time was the dynamic loader and the Swift runtime's start.
FAST      := .build/fast
FAST_LINK := --static-swift-stdlib -Xlinker -L$(FAST)/lib \
             -Xswiftc -Xclang-linker -Xswiftc -no-pie -Xswiftc -Xclang-linker -Xswiftc -static-libgcc
mlab-fast: deps
	@# -lstdc++ finds the archive first in a directory that holds only the archive.
	mkdir -p $(FAST)/lib
	cxx=$$(clang -print-file-name=libstdc++.a); \
	  if [ -f "$$cxx" ]; then ln -sf "$$cxx" $(FAST)/lib/libstdc++.a; fi
	$(SWIFT) build -c release --product mlab --scratch-path $(FAST) $(FAST_LINK)
	@echo "built $(FAST)/release/mlab"

# mlab lab up+down of the daisy lab and of the 50-namespace lab (conf/lab-big.conf) against
# the same `ip` commands (root).
bench-lab: mlab-fast
	MLAB=$(FAST)/release/mlab bench/lab-vs-ip.sh 20
	MLAB=$(FAST)/release/mlab bench/lab-big-vs-ip.sh 5

clean:
	rm -rf .build
