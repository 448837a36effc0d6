# SPDX-License-Identifier: GPL-2.0
#
# make                 qedctl, and the module when a kernel build tree is there
# make KDIR=DIR        ... the module for the kernel whose build tree is DIR
# make module          the module only (fails without a kernel build tree)
# make selftests       the kselftests (fetches kselftest's lib.mk and harness,
#                      or takes them from KSFT_SRC=.../tools/testing/selftests)
# make man             build/man/qedctl.8, build/man/qedblk.4 (rst2man)
# make install         qedctl, man pages, udev rules, systemd units, bash
#                      completion and (with a kernel build tree) the module;
#                      DESTDIR, PREFIX=/usr/local, SBINDIR, MANDIR, BASHCOMPDIR,
#                      UDEVDIR, SYSTEMDUNITDIR, SYSTEMDGENERATORDIR, KVER
# make uninstall       removes what make install installed (same variables)
# make dkms-install    the module's source into /usr/src/qedblk-VERSION, then
#                      dkms add, build and install (only the copy with DESTDIR)
# make dkms-uninstall  dkms remove, and the source from /usr/src
# make deb             build/deb/qedctl_*.deb and qedblk-dkms_*.deb
# make check           host unit tests, then every kernel of the matrix in a VM
# make check KERNELS=6.12    one kernel only
# make check-intree    the driver copied into linux-source-7.3 as
#                      drivers/block/qed/, a small kernel with it and the
#                      QLogic qed driver built in, W=1, booted once for KUnit
# make check-debug     the selftests on a KASAN/lockdep/kmemleak/UBSAN kernel
#                      with fault injection (builds it once, ~20-40 min)
# make demo            the main job (create, attach, mkfs, mount, write,
#                      detach, qemu-img check) in a VM
# make bench           fio on qed, loop, qemu-nbd and the bare file, one VM
#                      (BENCH_RUNTIME, BENCH_REPEAT, BENCH_SIZE, BENCH_KERNEL)
# make fuzz FUZZ_SECONDS=N   libFuzzer on the shared format code, N s a target
# make crashtest CYCLES=N    power cuts: N kill-and-verify cycles in VMs
#                      (CRASH_KERNEL, CRASH_WORKLOADS="empty full overlay ext4 snapshot")
#
# CFLAGS, CPPFLAGS and LDFLAGS from the command line or the environment are
# used for qedctl (the project's warning flags are added to them).
#
KDIR ?= /lib/modules/$(shell uname -r)/build
KERNELS ?= 6.1 6.12 7.3
DEMO_KERNEL ?= 6.12
BENCH_KERNEL ?= 6.12
CRASH_KERNEL ?= 6.12
CYCLES ?= 8
FUZZ_SECONDS ?= 600
export QED_CACHE

# The one version, of the module, qedctl, the DKMS tree and the packages.
VERSION := $(shell sed -n 's/^\#define QED_VERSION "\(.*\)"$$/\1/p' drivers/block/qed/qed_version.h)

# The module is built when KDIR is a kernel build tree; KDIR= (empty) never.
HAVE_KDIR := $(if $(KDIR),$(wildcard $(KDIR)/Makefile))
# The release of the kernel the module is built for and installed under:
# its vermagic (Debian's 6.1 headers say 6.1.N in kernel.release).
ifeq ($(KVER),)
KVER := $(or $(shell sed -n 's/^\#define UTS_RELEASE "\(.*\)"$$/\1/p' $(KDIR)/include/generated/utsrelease.h 2>/dev/null),\
	$(shell cat $(KDIR)/include/config/kernel.release 2>/dev/null),$(shell uname -r))
endif

# Where kselftest's lib.mk and harness come from: a tools/testing/selftests
# directory.  By default Debian's linux-source-6.12, unpacked into the cache.
KSFT_SRC ?=

# Installation directories.  With PREFIX=/usr, udev's and systemd's own
# (their pkg-config files); otherwise under PREFIX, which both read too
# (/usr/local/lib/udev/rules.d, /usr/local/lib/systemd/system): a local
# install never overwrites, nor its uninstall removes, a package's files.
PREFIX ?= /usr/local
SBINDIR ?= $(PREFIX)/sbin
MANDIR ?= $(PREFIX)/share/man
BASHCOMPDIR ?= $(PREFIX)/share/bash-completion/completions
ifeq ($(PREFIX),/usr)
UDEVDIR ?= $(or $(shell pkg-config --variable=udevdir udev 2>/dev/null),/usr/lib/udev)
SYSTEMDUNITDIR ?= $(or $(shell pkg-config --variable=systemdsystemunitdir systemd 2>/dev/null),/usr/lib/systemd/system)
SYSTEMDGENERATORDIR ?= $(or $(shell pkg-config --variable=systemdsystemgeneratordir systemd 2>/dev/null),/usr/lib/systemd/system-generators)
else
UDEVDIR ?= $(PREFIX)/lib/udev
SYSTEMDUNITDIR ?= $(PREFIX)/lib/systemd/system
SYSTEMDGENERATORDIR ?= $(PREFIX)/lib/systemd/system-generators
endif
# dkms looks for sources only here.
DKMS_SRCDIR := /usr/src/qedblk-$(VERSION)
# Where kbuild's modules_install puts the module (under $(DESTDIR)).
MODULES_DIR := /lib/modules/$(KVER)
INSTALL_MOD_DIR := extra
MOD_SUBDIR := $(INSTALL_MOD_DIR)/drivers/block/qed

# What is installed: whatever of these the tree has.  Once a man page's
# source is there, its page is built and installed, or install fails.
RST2MAN ?= rst2man
MAN_PAGES := $(patsubst Documentation/man/%.rst,build/man/%,$(wildcard Documentation/man/*.[1-8].rst))
UDEV_RULES := $(wildcard tools/udev/*.rules)
SYSTEMD_UNITS := $(wildcard tools/systemd/*.service tools/systemd/*.target)
SYSTEMD_GENERATORS := $(wildcard tools/systemd/*-generator)
BASH_COMPLETION := $(wildcard tools/qedctl/qedctl.bash)
# The module's source as dkms builds it: kbuild files, C, uapi header.
DKMS_FILES := Kbuild drivers/block/qed/Kbuild drivers/block/qed/qed-features.sh \
	$(filter-out %.mod.c,$(wildcard drivers/block/qed/*.[ch])) include/uapi/linux/qedblk.h

# The installed paths, for install and uninstall alike.
INST_MAN := $(foreach p,$(MAN_PAGES),$(MANDIR)/man$(subst .,,$(suffix $(p)))/$(notdir $(p)))
INST_UDEV := $(addprefix $(UDEVDIR)/rules.d/,$(notdir $(UDEV_RULES)))
INST_UNITS := $(addprefix $(SYSTEMDUNITDIR)/,$(notdir $(SYSTEMD_UNITS)))
INST_GENERATORS := $(addprefix $(SYSTEMDGENERATORDIR)/,$(notdir $(SYSTEMD_GENERATORS)))
INST_COMPLETION := $(if $(BASH_COMPLETION),$(BASHCOMPDIR)/qedctl)
INST_FILES := $(SBINDIR)/qedctl $(INST_MAN) $(INST_UDEV) $(INST_UNITS) $(INST_GENERATORS) $(INST_COMPLETION)

define nl


endef

# prune DIR...: with DESTDIR, DIR and its parents below DESTDIR are removed
# while they are empty.  On the real root only the module's own directories
# are (see uninstall): the system's directories stay.
prune = d0='$(DESTDIR)'; [ -n "$$d0" ] || exit 0; \
	for d in $(foreach d,$(1),'$(DESTDIR)$(d)'); do \
		while [ "$${d\#"$$d0"/}" != "$$d" ] && rmdir "$$d" 2>/dev/null; do d=$${d%/*}; done; \
	done

all: qedctl $(if $(HAVE_KDIR),module,module-note)

module-note:
	@echo "note: qedblk.ko not built: no kernel build tree at $(or $(KDIR),KDIR (empty)).  Install the"; \
	echo "  running kernel's headers (Debian/Ubuntu: apt install linux-headers-\$$(uname -r);"; \
	echo "  Fedora: dnf install kernel-devel), or use DKMS (make dkms-install), or name a"; \
	echo "  tree with 'make KDIR=/path/to/build'."

module:
	@if [ ! -f "$(KDIR)/Makefile" ]; then \
		echo "error: no kernel build tree at $(or $(KDIR),KDIR (empty))."; \
		echo "  Install your distribution's kernel headers (Debian/Ubuntu:"; \
		echo "  apt install linux-headers-\$$(uname -r); Fedora: dnf install kernel-devel),"; \
		echo "  use DKMS (make dkms-install), or name a tree with 'make KDIR=/path/to/build'."; \
		echo "  'make check' builds the module for the test kernels by itself."; \
		exit 1; \
	fi
	$(MAKE) -C $(KDIR) M=$(CURDIR) W=1 modules

# What check.sh, demo and bench build: qedctl, the selftests, qed_crash.
userspace: qedctl selftests crashtool

crashtool:
	$(MAKE) -C tools/crashtest

qedctl:
	$(MAKE) -C tools/qedctl

# Only the selftests (and the host tests, which use the harness) need
# kselftest's files: nothing else downloads anything.
ksft:
	@src="$(KSFT_SRC)"; \
	if [ -z "$$src" ]; then \
		command -v apt-get >/dev/null || { echo "error: the selftests need kselftest's lib.mk" \
			"and harness: set KSFT_SRC=/path/to/linux/tools/testing/selftests"; exit 1; }; \
		src=$$(tools/vmtest/ksrc.sh)/tools/testing/selftests || exit 1; \
	fi; \
	[ -f "$$src/lib.mk" ] && [ -f "$$src/kselftest_harness.h" ] && [ -d "$$src/kselftest" ] || \
		{ echo "error: $$src is not a kernel tree's tools/testing/selftests"; exit 1; }; \
	cp "$$src/lib.mk" "$$src/kselftest.h" "$$src/kselftest_harness.h" selftests/ && \
	rm -rf selftests/kselftest && cp -r "$$src/kselftest" selftests/

selftests: ksft
	$(MAKE) -C selftests/qed OUTPUT=$(CURDIR)/selftests/qed all tests.list

man: $(MAN_PAGES)

build/man/%: Documentation/man/%.rst
	@command -v $(RST2MAN) >/dev/null || { echo "error: $(RST2MAN) not found: the man pages need" \
		"docutils (Debian: apt install python3-docutils; Fedora: dnf install python3-docutils)"; exit 1; }
	@mkdir -p build/man
	$(RST2MAN) --exit-status=error $< $@.tmp && mv $@.tmp $@

install: install-userspace install-module

# install_sbin_ref MODE SRC DEST: the units and the generator run qedctl
# where this install puts it (/usr/sbin in the sources and the packages).
install_sbin_ref = install -d "$(DESTDIR)$(dir $(3))" && \
	sed 's|/usr/sbin/qedctl|$(SBINDIR)/qedctl|g' $(2) >"$(DESTDIR)$(3)" && chmod $(1) "$(DESTDIR)$(3)"

install-userspace: qedctl man
	install -D -m 0755 tools/qedctl/qedctl "$(DESTDIR)$(SBINDIR)/qedctl"
	$(foreach p,$(MAN_PAGES),install -D -m 0644 $(p) "$(DESTDIR)$(MANDIR)/man$(subst .,,$(suffix $(p)))/$(notdir $(p))"$(nl))
	$(foreach f,$(UDEV_RULES),install -D -m 0644 $(f) "$(DESTDIR)$(UDEVDIR)/rules.d/$(notdir $(f))"$(nl))
	$(foreach f,$(SYSTEMD_UNITS),$(call install_sbin_ref,0644,$(f),$(SYSTEMDUNITDIR)/$(notdir $(f)))$(nl))
	$(foreach f,$(SYSTEMD_GENERATORS),$(call install_sbin_ref,0755,$(f),$(SYSTEMDGENERATORDIR)/$(notdir $(f)))$(nl))
	$(foreach f,$(BASH_COMPLETION),install -D -m 0644 $(f) "$(DESTDIR)$(BASHCOMPDIR)/qedctl"$(nl))

# kbuild signs the module only when the kernel's signing key is there (a
# distribution's headers do not ship it); depmod runs when the root it
# installs into holds that kernel's modules.
ifneq ($(HAVE_KDIR),)
install-module: module
	$(MAKE) -C $(KDIR) M=$(CURDIR) INSTALL_MOD_PATH=$(DESTDIR) INSTALL_MOD_DIR=$(INSTALL_MOD_DIR) \
		DEPMOD=true $(if $(wildcard $(KDIR)/certs/signing_key.pem),,CONFIG_MODULE_SIG_ALL=) modules_install
	@$(depmod)
else
install-module:
	@echo "note: the module was not installed: no kernel build tree at $(or $(KDIR),KDIR (empty))" \
		"(install the kernel's headers, or use make dkms-install)."
endif

depmod = if [ -f "$(DESTDIR)$(MODULES_DIR)/modules.builtin" ]; then \
		echo "depmod $(if $(DESTDIR),-b $(DESTDIR) )$(KVER)"; \
		depmod $(if $(DESTDIR),-b "$(DESTDIR)") $(KVER); \
	else \
		echo "note: depmod not run: $(DESTDIR)$(MODULES_DIR) holds no installed kernel; run" \
			"'depmod $(KVER)' on the system that boots it."; \
	fi

# Run last again, once both parts are gone (with -j they run side by side).
uninstall: uninstall-userspace uninstall-module
	@$(call prune,$(sort $(patsubst %/,%,$(dir $(INST_FILES)))) $(MODULES_DIR))

uninstall-userspace:
	rm -f $(foreach f,$(INST_FILES),"$(DESTDIR)$(f)")
	@$(call prune,$(sort $(patsubst %/,%,$(dir $(INST_FILES)))))

uninstall-module:
	@removed=; for f in $(foreach x,.ko .ko.xz .ko.gz .ko.zst,"$(DESTDIR)$(MODULES_DIR)/$(MOD_SUBDIR)/qedblk$(x)"); do \
		if [ -e "$$f" ]; then echo "rm -f $$f"; rm -f "$$f" || exit 1; removed=1; fi; \
	done; \
	d="$(DESTDIR)$(MODULES_DIR)/$(MOD_SUBDIR)"; \
	while [ "$$d" != "$(DESTDIR)$(MODULES_DIR)" ] && rmdir "$$d" 2>/dev/null; do d=$${d%/*}; done; \
	[ -z "$$removed" ] || { $(depmod); }
	@$(call prune,$(MODULES_DIR))

# Never over the qedblk-dkms package's own tree of the same version.
dkms_not_packaged = @if command -v dpkg >/dev/null && dpkg -S "$(DKMS_SRCDIR)" >/dev/null 2>&1; then \
	echo "error: $(DKMS_SRCDIR) belongs to a package ($$(dpkg -S "$(DKMS_SRCDIR)" | cut -d: -f1)):" \
		"remove it first, or use it"; exit 1; fi

dkms-install:
ifeq ($(DESTDIR),)
	$(dkms_not_packaged)
	@command -v dkms >/dev/null || { echo "error: dkms is not installed (Debian/Ubuntu: apt install dkms;" \
		"Fedora: dnf install dkms)"; exit 1; }
	@if [ -n "$$(dkms status -m qedblk -v $(VERSION) 2>/dev/null)" ]; then \
		echo "dkms remove -m qedblk -v $(VERSION) --all"; dkms remove -m qedblk -v $(VERSION) --all; fi
endif
	rm -rf "$(DESTDIR)$(DKMS_SRCDIR)"
	$(foreach f,$(DKMS_FILES),install -D -m 0644 $(f) "$(DESTDIR)$(DKMS_SRCDIR)/$(f)"$(nl))
	sed 's/#MODULE_VERSION#/$(VERSION)/' dkms.conf >"$(DESTDIR)$(DKMS_SRCDIR)/dkms.conf"
ifeq ($(DESTDIR),)
	dkms add -m qedblk -v $(VERSION)
ifneq ($(HAVE_KDIR),)
	dkms build -m qedblk -v $(VERSION) -k $(KVER) --kernelsourcedir $(KDIR)
	dkms install -m qedblk -v $(VERSION) -k $(KVER) --kernelsourcedir $(KDIR)
else
	@echo "note: no kernel build tree at $(KDIR): dkms builds qedblk when the headers of a" \
		"kernel are installed (or: dkms install -m qedblk -v $(VERSION) -k RELEASE)."
endif
endif

dkms-uninstall:
ifeq ($(DESTDIR),)
	$(dkms_not_packaged)
	@if command -v dkms >/dev/null && [ -n "$$(dkms status -m qedblk -v $(VERSION) 2>/dev/null)" ]; then \
		echo "dkms remove -m qedblk -v $(VERSION) --all"; dkms remove -m qedblk -v $(VERSION) --all; fi
endif
	rm -rf "$(DESTDIR)$(DKMS_SRCDIR)"
	@$(call prune,/usr/src)

# The packages are built from a copy of the tree under build/deb, so that
# dpkg-buildpackage's outputs (written next to the tree) and its clean step
# stay out of the work tree.
DEB_TREE := build/deb/qedblk-$(VERSION)
deb:
	rm -rf build/deb
	mkdir -p $(DEB_TREE)
	tar -c --exclude=./.git --exclude=./build -f - . | tar -x -f - -C $(DEB_TREE)
	cd $(DEB_TREE) && dpkg-buildpackage -us -uc -b
	rm -rf $(DEB_TREE)
	@ls -1 build/deb/*.deb

unit: ksft
	$(MAKE) -C tools/unit run

check:
	tools/vmtest/check.sh $(KERNELS)

demo: qedctl
	tools/vmtest/demo-vm.sh $(DEMO_KERNEL)

bench: qedctl
	tools/vmtest/bench.sh $(BENCH_KERNEL)

check-intree:
	tools/vmtest/intree.sh

check-debug: userspace
	QED_NO_EXTRAS=1 QED_VM_TIMEOUT=$${QED_VM_TIMEOUT:-14400} tools/vmtest/check.sh debug

fuzz:
	$(MAKE) -C tools/fuzz run FUZZ_SECONDS=$(FUZZ_SECONDS)

crashtest: userspace
	tools/vmtest/crashtest.sh $(CRASH_KERNEL) $(CYCLES)

modules_install:
	$(MAKE) -C $(KDIR) M=$(CURDIR) modules_install

clean:
ifneq ($(HAVE_KDIR),)
	-$(MAKE) -C $(KDIR) M=$(CURDIR) clean 2>/dev/null
endif
	$(MAKE) -C tools/qedctl clean
	$(MAKE) -C tools/unit clean
	$(MAKE) -C tools/crashtest clean
	$(MAKE) -C tools/fuzz clean
	rm -rf build selftests/qed/qed_ctl_test selftests/qed/qed_unreadable selftests/qed/tests.list

.PHONY: all module module-note userspace qedctl crashtool ksft selftests man install install-userspace \
	install-module uninstall uninstall-userspace uninstall-module dkms-install dkms-uninstall deb \
	unit check check-intree check-debug demo bench crashtest fuzz modules_install clean
