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
DEB_PACKAGES += fuse3 libfuse3-dev   # the power-cut test (docs/DURABILITY.md): powercut-fs
DEB_PACKAGES += dnsmasq-base isc-dhcp-client   # the lab's DHCP server (upstream) and the course's dhclient
DEB_PACKAGES += postfix libsasl2-modules msmtp perl   # interop: Postfix both ways (SASL), msmtp AUTH, Net::SMTP BDAT; bench relay cell
DEB_PACKAGES += mandoc man-db   # make install's man pages: mandoc -T lint and man -l in InstallTests

.PHONY: deps build test run fmt lint lab-up lab-down demo demo-mail bench bench-config bench-lab \
        mlab-fast clean fuzz sanitize install uninstall

deps:
	@missing=""; for p in $(DEB_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  SUDO=""; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
	  $$SUDO scripts/apt-install.sh $$missing; \
	fi
	@# A root smtpd runs its network side as _maillab (docs/PRIVILEGES.md).
	@[ "$$(id -u)" != 0 ] || scripts/unprivileged-user.sh

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

# libFuzzer targets (docs/FUZZING.md), each run FUZZ_SECONDS on one core, its corpus kept in
# $(FUZZ_BUILD)/corpus between runs and started from the seeds Fuzz/make-seeds.py takes from
# the tests' inputs. Crashes land in $(FUZZ_BUILD)/artifacts/TARGET/; any crash fails the run.
FUZZ_SECONDS ?= 60
FUZZ_TARGETS ?= FuzzSession FuzzAddress FuzzConfig FuzzLab FuzzChat FuzzMIME FuzzTranscript
FUZZ_BUILD   := .build-fuzz
fuzz: deps
	@for t in $(FUZZ_TARGETS); do \
	  MAILLAB_FUZZ=1 $(SWIFT) build -c release --scratch-path $(FUZZ_BUILD) \
	    -Xswiftc -sanitize=fuzzer,address -Xswiftc -enable-testing --product $$t || exit 1; \
	done
	python3 Fuzz/make-seeds.py $(FUZZ_BUILD)/seeds
	@failed=""; for t in $(FUZZ_TARGETS); do \
	  mkdir -p $(FUZZ_BUILD)/corpus/$$t $(FUZZ_BUILD)/artifacts/$$t $(FUZZ_BUILD)/logs; \
	  echo "== $$t: $(FUZZ_SECONDS) s"; \
	  SWIFT_BACKTRACE=enable=no nice $(FUZZ_BUILD)/release/$$t -max_total_time=$(FUZZ_SECONDS) -rss_limit_mb=2048 \
	    -print_final_stats=1 -artifact_prefix=$(FUZZ_BUILD)/artifacts/$$t/ \
	    $(FUZZ_BUILD)/corpus/$$t $(FUZZ_BUILD)/seeds/$$t > $(FUZZ_BUILD)/logs/$$t.log 2>&1 \
	    || failed="$$failed $$t"; \
	  grep -E "^Done|number_of_executed_units|ERROR|==[0-9]+==" $(FUZZ_BUILD)/logs/$$t.log | head -5; \
	done; \
	if [ -n "$$failed" ]; then echo "fuzz: crashes in$$failed (see $(FUZZ_BUILD)/logs)"; exit 1; fi

# The test suite under AddressSanitizer (SANITIZE_FILTER narrows it), then the reactor,
# Maildir and server tests under ThreadSanitizer (TSAN_FILTER); each in its own build folder.
# The smtpd the tests start is the sanitized one; every process writes its reports to
# .build-{asan,tsan}/reports/ (a child's stderr goes to a log the test deletes), listed at the
# end. SANITIZE_SKIP: tests that cannot hold under a sanitizer (docs/FUZZING.md): memory
# bounds (ASan's shadow memory and quarantine), a fork while another thread runs (TSan does
# not support it), and a throttling deadline the slowdown misses. Leaks are listed, not failed
# on: the ones seen were inside Foundation (FileManager.contents, Process.run).
SANITIZE_FILTER ?= .
TSAN_FILTER     ?= ReactorTests|MaildirTests|SMTPServerTests
SANITIZE_SKIP   ?= nonReadingPipeliningClientsKeepSmtpdSmall|aClientThatNeverReadsIsThrottled|aChildForkedWhileAnotherThreadDrawsDoesNotHang
sanitize: deps
	$(SWIFT) build --build-tests --sanitize=address --scratch-path .build-asan
	rm -rf .build-asan/reports && mkdir -p .build-asan/reports
	ASAN_OPTIONS=log_path=$(CURDIR)/.build-asan/reports/asan LSAN_OPTIONS=exitcode=0 \
	  $(SWIFT) test --skip-build --sanitize=address --scratch-path .build-asan --parallel \
	  --filter '$(SANITIZE_FILTER)' --skip '$(SANITIZE_SKIP)'
	$(SWIFT) build --build-tests --sanitize=thread --scratch-path .build-tsan
	rm -rf .build-tsan/reports && mkdir -p .build-tsan/reports
	TSAN_OPTIONS=log_path=$(CURDIR)/.build-tsan/reports/tsan \
	  $(SWIFT) test --skip-build --sanitize=thread --scratch-path .build-tsan --parallel \
	  --filter '$(TSAN_FILTER)' --skip '$(SANITIZE_SKIP)'
	@echo "sanitizer reports (TSan cannot see Synchronization.Mutex: docs/FUZZING.md):"
	@cat .build-asan/reports/* .build-tsan/reports/* 2>/dev/null | grep '^SUMMARY' | sort | uniq -c || true

# make install [PREFIX=/usr/local] [DESTDIR=staging]: smtpd and smtpctl in sbin, mlab in bin, the
# man pages, bash/zsh/fish completions and a manifest (share/maillab/install-manifest) that
# make uninstall removes exactly. Release binaries are built in their own scratch path, so the
# debug build is not thrown away; INSTALL_BIN_DIR=.build/debug installs binaries already built
# (InstallTests does, to not pay for a release build).
PREFIX          ?= /usr/local
DESTDIR         ?=
INSTALL_BUILD   := .build/install
INSTALL_BIN_DIR ?= $(INSTALL_BUILD)/release
# Only a build needs the packages: installing prebuilt binaries never runs apt-get.
install:
	@if [ "$(INSTALL_BIN_DIR)" = "$(INSTALL_BUILD)/release" ]; then \
	  $(MAKE) -s deps || exit 1; \
	  for p in smtpd smtpctl mlab; do \
	    $(SWIFT) build -c release --scratch-path $(INSTALL_BUILD) --product $$p || exit 1; \
	  done; \
	fi
	DESTDIR="$(DESTDIR)" PREFIX="$(PREFIX)" scripts/install.sh install $(INSTALL_BIN_DIR)

uninstall:
	DESTDIR="$(DESTDIR)" PREFIX="$(PREFIX)" scripts/install.sh uninstall

clean:
	rm -rf .build .build-fuzz .build-asan .build-tsan
