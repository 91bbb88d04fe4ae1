# a3s-box build. GNU make; Debian 12. Every path below can be overridden on
# the command line, e.g. `make build OUT=/tmp/out`.

OUT          ?= out
KERNEL_CACHE ?= $(HOME)/.cache/a3s-box/kernel
GO           ?= go
VERSION      ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
# The commit and its time, for `version` (GOFLAGS may turn off Go's own
# VCS stamping).
GIT_COMMIT   ?= $(shell git rev-parse --short=7 HEAD 2>/dev/null)
BUILD_TIME   ?= $(shell git log -1 --format=%cI 2>/dev/null)

# Debian packages a3s-box needs at build and run time. dpkg (dpkg-deb),
# apt, util-linux (flock) and gzip are essential packages and always there.
DEB_PACKAGES := qemu-system-x86 e2fsprogs kmod busybox-static ca-certificates xz-utils skopeo iptables nftables
# (other targets append the packages only they need here)

# The kernel cache holds one directory per kernel release and `current`, a
# symlink to the release in use. Remove `current` to fetch a newer kernel.
KERNEL_CURRENT := $(KERNEL_CACHE)/current
# kernel.release is written last by the fetch, so its presence means the
# release directory is complete, and its mtime is when that kernel arrived.
KERNEL_STAMP   := $(KERNEL_CURRENT)/kernel.release

# Go sources per binary, so a binary is relinked only when its code changed.
GUESTINIT_SRC  := $(shell find guestinit -name '*.go' -not -name '*_test.go' 2>/dev/null)
MKINITRAMFS_SRC := $(shell find cmd/mkinitramfs runtime/initramfs internal/statefile guestinit/proto/kmod \
                    -name '*.go' -not -name '*_test.go' 2>/dev/null)
A3S_BOX_SRC    := $(shell find cmd/a3s-box engine internal runtime spec reconcile guestinit/proto \
                    -name '*.go' -not -name '*_test.go' 2>/dev/null)

.PHONY: deps kernel build initramfs fuzz

# ---------------------------------------------------------------- deps

deps:
	@missing=; \
	for p in $(DEB_PACKAGES); do \
	  dpkg-query -W -f='$${db:Status-Abbrev}' "$$p" 2>/dev/null | grep -q '^ii' || missing="$$missing $$p"; \
	done; \
	if [ -z "$$missing" ]; then exit 0; fi; \
	if [ "$$(id -u)" != 0 ]; then echo "deps: missing$$missing; run \`make deps\` as root" >&2; exit 1; fi; \
	echo "deps: installing$$missing"; \
	export DEBIAN_FRONTEND=noninteractive; \
	apt-get update -q && apt-get install -y -q --no-install-recommends $$missing

# ---------------------------------------------------------------- kernel

kernel: $(KERNEL_STAMP)

# fetch_kernel takes the cache directory as $1 and runs under the cache's
# lock, so concurrent builds fetch once. It resolves the concrete package
# behind linux-image-amd64 (its ABI name changes with every Debian kernel
# update), unpacks it and runs depmod, because the package ships no
# modules.dep. The release directory appears by rename once complete.
define fetch_kernel
set -eu
cache=$$1
[ -f "$$cache/current/kernel.release" ] && exit 0
PATH=$$PATH:/usr/sbin:/sbin
for tool in apt-get apt-cache dpkg-deb depmod; do
  command -v $$tool >/dev/null || { echo "kernel: $$tool missing: run \`make deps\` as root" >&2; exit 1; }
done
export DEBIAN_FRONTEND=noninteractive
resolve() {
  apt-cache depends linux-image-amd64 2>/dev/null |
    sed -n 's/^ *Depends: \(linux-image-[^ <>]*\)$$/\1/p' | head -n 1
}
tmp=$$(mktemp -d "$$cache/.fetch.XXXXXX")
trap 'rm -rf "$$tmp"' EXIT
download() {
  [ -n "$$pkg" ] && (cd "$$tmp" && apt-get download -q -o APT::Sandbox::User=root "$$pkg")
}
pkg=$$(resolve)
# Package lists may be missing (fresh machine) or name a superseded
# kernel the mirror no longer has: refresh them once and retry.
if ! download; then
  apt-get update -q
  pkg=$$(resolve)
  if [ -z "$$pkg" ]; then echo "kernel: linux-image-amd64 depends on no linux-image package" >&2; exit 1; fi
  download
fi
dpkg-deb -x "$$tmp/$$pkg"_*.deb "$$tmp/root"
release=$$(ls "$$tmp/root/lib/modules")
case $$release in *[!A-Za-z0-9._+-]*|'') echo "kernel: unexpected release name '$$release' in $$pkg" >&2; exit 1;; esac
depmod -b "$$tmp/root" "$$release"
dir=$$tmp/$$release
mkdir -p "$$dir/lib/modules"
mv "$$tmp/root/boot/vmlinuz-$$release" "$$dir/vmlinuz"
mv "$$tmp/root/boot/config-$$release" "$$dir/config"
mv "$$tmp/root/lib/modules/$$release" "$$dir/lib/modules/"
echo "$$release" >"$$dir/kernel.release"
sync -f "$$dir/kernel.release"
rm -rf "$$cache/$$release"
mv "$$dir" "$$cache/$$release"
ln -s "$$release" "$$tmp/current"
mv -T "$$tmp/current" "$$cache/current"
echo "kernel: $$release from $$pkg in $$cache/$$release"
endef
export fetch_kernel

$(KERNEL_STAMP):
	@mkdir -p '$(KERNEL_CACHE)'
	@flock '$(KERNEL_CACHE)/.lock' sh -c "$$fetch_kernel" fetch-kernel '$(KERNEL_CACHE)'

# ---------------------------------------------------------------- build

build: $(OUT)/a3s-box $(OUT)/guestinit $(OUT)/vmlinux $(OUT)/kernel.release $(OUT)/initramfs.img

initramfs: $(OUT)/initramfs.img

$(OUT):
	@mkdir -p $@

$(OUT)/a3s-box: $(A3S_BOX_SRC) go.mod go.sum | $(OUT)
	$(GO) build -ldflags '-X github.com/a3s-box/a3s-box/runtime.Version=$(VERSION) -X main.gitCommit=$(GIT_COMMIT) -X main.buildTime=$(BUILD_TIME)' -o $@ ./cmd/a3s-box

# guestinit is PID 1 of a guest that has no libc: static, no cgo.
$(OUT)/guestinit: $(GUESTINIT_SRC) go.mod go.sum | $(OUT)
	CGO_ENABLED=0 $(GO) build -ldflags '-s -w -X main.version=$(VERSION)' -o $@ ./guestinit

# cp -f writes a fresh mtime, so a kernel fetched later (newer stamp)
# replaces these and rebuilds the initramfs.
$(OUT)/vmlinuz: $(KERNEL_STAMP) | $(OUT)
	cp -f '$(KERNEL_CURRENT)/vmlinuz' $@

# vmlinux is the uncompressed kernel, which QEMU boots directly through its
# PVH entry point. Debian's bzImage is xz-compressed, and decompressing it
# under emulation costs seconds on every boot.
$(OUT)/vmlinux: $(OUT)/vmlinuz
	@off=$$(LC_ALL=C grep -obUaP '\xfd7zXZ\x00' $< | head -n 1 | cut -d: -f1); \
	[ -n "$$off" ] || { echo "vmlinux: no xz payload in $<" >&2; exit 1; }; \
	tail -c +$$((off + 1)) $< | xz -dcq >$@.tmp 2>/dev/null; \
	[ "$$(head -c 4 $@.tmp | od -An -tx1 | tr -d ' ')" = 7f454c46 ] || { rm -f $@.tmp; echo "vmlinux: $< did not unpack to an ELF kernel" >&2; exit 1; }; \
	mv $@.tmp $@

$(OUT)/kernel.release: $(KERNEL_STAMP) | $(OUT)
	cp -f '$(KERNEL_STAMP)' $@

$(OUT)/initramfs.img: $(OUT)/guestinit $(KERNEL_STAMP) $(MKINITRAMFS_SRC) | $(OUT)
	release=$$(cat '$(KERNEL_STAMP)') && \
	$(GO) run ./cmd/mkinitramfs --init $(OUT)/guestinit --release "$$release" \
	  --modules-dir '$(KERNEL_CURRENT)/lib/modules/'"$$release" --out $@

# ---------------------------------------------------------------- test, demo, bench

.PHONY: test demo bench

# test installs what it needs, builds everything, then runs the unit tests,
# a short run of every fuzz target and the end-to-end tests, which boot real
# microVMs through the built binary.
test: deps build
	$(GO) vet ./...
	$(GO) test -count=1 ./...
	@$(MAKE) --no-print-directory fuzz
	A3S_BOX_E2E_DIR=$(abspath $(OUT)) $(GO) test -count=1 -timeout 30m -v ./cmd/a3s-box/ ./engine/

# fuzz runs each fuzz target briefly. Each run is bounded by a count of
# executions, sized to about ten seconds here, not by a duration: a
# duration-bounded run can fail with a bare "context deadline exceeded" when
# the fuzzing coordinator's deadline races a busy worker (go.dev/issue/75804,
# fixed in Go 1.27). FUZZTIME=5m (or 1000000x) for a longer hunt of every target.
FUZZTIME ?=
FUZZ_TARGETS := ./guestinit/proto:FuzzReadFrame:300000x ./guestinit/proto:FuzzDataReader:300000x ./guestinit/proto:FuzzDropPings:250000x \
                ./runtime/image:FuzzFlatten:3000x ./runtime/image:FuzzLoad:600x ./runtime/image:FuzzExtract:1000x \
                ./spec:FuzzParse:20000x ./runtime/network:FuzzResolver:100000x \
                ./runtime/procfs:FuzzParsers:50000x ./runtime:FuzzProcAnswer:50000x ./runtime:FuzzDecodeChanges:50000x \
                ./guestinit:FuzzPut:300x ./guestinit/proto/kmod:FuzzRead:300000x \
                ./runtime/initramfs:FuzzClosure:200000x ./guestinit:FuzzModuleOrder:200000x \
                ./guestinit:FuzzFitUDP:300000x ./spec:FuzzReadStack:2000x ./runtime/image:FuzzImport:600x
fuzz:
	@set -e; log=$$(mktemp); trap 'rm -f "$$log"' EXIT; \
	for t in $(FUZZ_TARGETS); do \
	  pkg=$${t%%:*}; rest=$${t#*:}; name=$${rest%%:*}; budget=$${FUZZTIME:-$${rest#*:}}; \
	  echo "fuzz $$pkg $$name ($$budget)"; \
	  if ! $(GO) test $$pkg -run '^$$' -fuzz "^$$name\$$" -fuzztime $$budget -fuzzminimizetime 3s >"$$log" 2>&1; then \
	    tail -n 40 "$$log"; exit 1; \
	  fi; \
	done

# demo serves the test image from a local registry and runs its greeting.
demo: deps build
	@set -e; root=$$(mktemp -d); log=$$(mktemp); \
	$(GO) build -o $(OUT)/testregistry ./cmd/testregistry; \
	$(OUT)/testregistry >$$log & reg=$$!; \
	trap 'kill $$reg 2>/dev/null; rm -rf "$$root" "$$log"' EXIT; \
	for i in $$(seq 100); do [ -s $$log ] && break; sleep 0.05; done; \
	addr=$$(head -n 1 $$log); \
	echo "+ a3s-box run --rm $$addr/test/busybox:1 hello"; \
	A3S_BOX_ROOT=$$root $(OUT)/a3s-box run --rm $$addr/test/busybox:1 hello

# bench compares `a3s-box run --rm IMAGE true` with a bare QEMU boot of the
# same kernel and initramfs to guest ready (RUNS=N for more samples); pull
# + rootfs build of a 200 MiB, 24-layer image against skopeo copy + tar +
# mkfs.ext4 -d, and a second pull (IMAGE_RUNS=N); idle boxes' supervisors
# (memory and CPU beside the VMM's memory) and exec's round trip; the
# planner alone, then observe + plan of 200 boxes, the watcher's latency
# and a 10-box apply against 10 boots one after another; TCP throughput
# box to box on a network and host to box through a published port,
# beside the host's loopback; `cp` of a 256 MiB file each way against
# `cat` (FS_RUNS=N), and a copy into a stopped box.
RUNS ?= 7
FS_RUNS ?= 5
IMAGE_RUNS ?= 3
# IDLE is the window over which supervisors' idle CPU use is measured.
IDLE ?= 60s
# NET_RUNS is how many transfers netbench times per path.
NET_RUNS ?= 5
bench: deps build
	$(GO) build -o $(OUT)/testregistry ./cmd/testregistry
	$(GO) build -o $(OUT)/bootbench ./cmd/bootbench
	$(GO) build -o $(OUT)/imagebench ./cmd/imagebench
	$(OUT)/bootbench --dir $(OUT) --runs $(RUNS)
	$(OUT)/imagebench --dir $(OUT) --runs $(IMAGE_RUNS)
	$(GO) build -o $(OUT)/supbench ./cmd/supbench
	$(OUT)/supbench --dir $(OUT) --idle $(IDLE)
	$(GO) test -run '^$$' -bench . -benchmem ./reconcile ./runtime/vmm
	$(GO) build -o $(OUT)/stackbench ./cmd/stackbench
	$(OUT)/stackbench --dir $(OUT)
	CGO_ENABLED=0 $(GO) build -o $(OUT)/netbench ./cmd/netbench
	$(OUT)/netbench --dir $(OUT) --runs $(NET_RUNS)
	$(GO) build -o $(OUT)/fsbench ./cmd/fsbench
	$(OUT)/fsbench --dir $(OUT) --runs $(FS_RUNS)
