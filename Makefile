# SPDX-License-Identifier: GPL-2.0
#
# make                 qedctl, and the module when a kernel build tree is there
# make KDIR=DIR        ... the module for the kernel whose build tree is DIR
# make module          the module only (fails without a kernel build tree)
# make selftests       the kselftests (fetches kselftest's lib.mk and harness,
#                      or takes them from KSFT_SRC=.../tools/testing/selftests)
# make check           host unit tests, then every kernel of the matrix in a VM
# make check KERNELS=6.12    one kernel only
# make check-debug     the selftests on a KASAN/lockdep/kmemleak/UBSAN kernel
#                      with fault injection (builds it once, ~20-40 min)
# make demo            the main job (create, attach, mkfs, mount, write,
#                      detach, qemu-img check) in a VM
# make bench           fio on qed, loop and qemu-nbd side by side in one VM
#                      (BENCH_RUNTIME, BENCH_REPEAT, BENCH_SIZE, BENCH_KERNEL)
# make fuzz FUZZ_SECONDS=N   libFuzzer on the shared format code, N s a target
# make crashtest CYCLES=N    power cuts: N kill-and-verify cycles in VMs
#                      (CRASH_KERNEL, CRASH_WORKLOADS="empty full overlay ext4")
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

# The module is built when KDIR is a kernel build tree; KDIR= (empty) never.
HAVE_KDIR := $(if $(KDIR),$(wildcard $(KDIR)/Makefile))

# Where kselftest's lib.mk and harness come from: a tools/testing/selftests
# directory.  By default Debian's linux-source-6.12, unpacked into the cache.
KSFT_SRC ?=

all: qedctl $(if $(HAVE_KDIR),module,module-note)

module-note:
	@echo "note: qedblk.ko not built: no kernel build tree at $(or $(KDIR),KDIR (empty)).  Install the"; \
	echo "  running kernel's headers (Debian/Ubuntu: apt install linux-headers-\$$(uname -r);"; \
	echo "  Fedora: dnf install kernel-devel), or name a tree with"; \
	echo "  'make KDIR=/path/to/build'."

module:
	@if [ ! -f "$(KDIR)/Makefile" ]; then \
		echo "error: no kernel build tree at $(or $(KDIR),KDIR (empty))."; \
		echo "  Install your distribution's kernel headers (Debian/Ubuntu:"; \
		echo "  apt install linux-headers-\$$(uname -r); Fedora: dnf install kernel-devel),"; \
		echo "  or name a tree with 'make KDIR=/path/to/build'."; \
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

unit: ksft
	$(MAKE) -C tools/unit run

check:
	tools/vmtest/check.sh $(KERNELS)

demo: qedctl
	tools/vmtest/demo-vm.sh $(DEMO_KERNEL)

bench: qedctl
	tools/vmtest/bench.sh $(BENCH_KERNEL)

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
	rm -rf build selftests/qed/qed_ctl_test selftests/qed/tests.list

.PHONY: all module module-note userspace qedctl crashtool ksft selftests unit check check-debug demo bench crashtest fuzz \
	modules_install clean
