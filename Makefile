# IPTF build: the Go node, the TensorFlow plugin and the Python package, installed in .venv/.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
VPY := $(VENV)/bin/python
NODE_BIN := iptf/python/iptf/bin/iptf-node
# TensorFlow looks for plugins by the platform's shared-library suffix.
SO := $(if $(filter Darwin,$(shell uname -s)),dylib,so)
PLUGIN := build/tensorflow-plugins/libiptf_fs.$(SO)
CPP_TEST := build/file_system_test
GO_SOURCES := $(shell find iptf/go -name '*.go') iptf/go/go.mod iptf/go/go.sum
CPP_SOURCES := $(wildcard iptf/cpp/*.cc iptf/cpp/*.h iptf/cpp/build.sh iptf/cpp/Makefile)
PY_SOURCES := $(shell find iptf/python/iptf -name '*.py')
HELIA := iptf/python/tests/peers/helia
APT_PACKAGES := nlohmann-json3-dev libgtest-dev iproute2 strace
# The node: one static executable, stamped with IPTF's version (iptf/go/build.sh, shared with Bazel).
GO_BUILD := bash iptf/go/build.sh
# Containers (the wheel's plugin build, the image): crun fails on this kind of host (cgroups);
# podman's default ulimits exceed its hard limits. Debian packages they need:
PODMAN_RUNTIME := --runtime /usr/sbin/runc
PODMAN_ULIMITS := --ulimit nofile=1024:1024 --ulimit nproc=1024:1024
IMAGE_APT := podman buildah runc debootstrap chromium
# Platforms the node must also build for (`make cross-node`, part of `make test`).
CROSS_PLATFORMS := darwin/arm64 linux/arm64

.PHONY: fuzz check venv demo test bench loadtest leakcheck dashboard apt clean gateway-conformance wheel cross-node \
  bazel-apt bazel-test

venv: $(VENV)/.installed

# Debian packages the build and tests need, installed when missing (as root).
apt:
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	  else echo "missing Debian packages:$$missing (run make as root or install them)"; exit 1; fi; \
	fi

$(VPY):
	$(PYTHON) -m venv $(VENV)
	$(VPY) -m pip install -q --upgrade pip

# Build and test dependencies (TensorFlow among them), without the project itself.
$(VENV)/.deps: pyproject.toml | $(VPY)
	$(VPY) -m pip install -q --group dev
	touch $@

$(NODE_BIN): $(GO_SOURCES) iptf/go/build.sh iptf/python/iptf/__init__.py
	$(GO_BUILD) $(NODE_BIN)

$(PLUGIN) $(CPP_TEST) &: $(CPP_SOURCES) $(VENV)/.deps | apt
	PYTHON=$(VPY) bash iptf/cpp/build.sh $(PLUGIN) $(CPP_TEST)

# A current kubo, built from the module the node already uses, as a separate test peer.
KUBO_PEER := build/tools/ipfs
$(KUBO_PEER): iptf/go/go.mod iptf/go/go.sum
	cd iptf/go && go build -trimpath -o ../../$(KUBO_PEER) github.com/ipfs/kubo/cmd/ipfs

$(HELIA)/node_modules/.installed: $(HELIA)/package.json $(HELIA)/package-lock.json
	npm ci --prefix $(HELIA) --no-audit --no-fund --loglevel=error
	touch $@

# The project as users get it: a wheel with the node binary and the plugin.
$(VENV)/.installed: $(VENV)/.deps $(NODE_BIN) $(PLUGIN) $(PY_SOURCES) $(HELIA)/node_modules/.installed $(KUBO_PEER)
	$(VPY) -m pip install -q --no-deps --no-build-isolation --force-reinstall .
	TF_CPP_MIN_LOG_LEVEL=3 TF_ENABLE_ONEDNN_OPTS=0 $(VPY) -c "import tensorflow"  # a broken plugin would break this
	touch $@

# The wheel users install: dist/iptf_tensorflow-<version>-py3-none-<platform>.whl. On Linux its
# manylinux tag is the one auditwheel proves for the plugin, which is built in a Debian bullseye
# root (glibc 2.31); TensorFlow's own library is never bundled (the plugin finds it in
# site-packages/tensorflow at run time).
WHEEL_STAMP := dist/.built
wheel: $(WHEEL_STAMP)

ifeq ($(SO),dylib)
WHEEL_PLUGIN := $(PLUGIN)
else
WHEEL_PLUGIN := build/wheel-plugin/libiptf_fs.so
$(WHEEL_PLUGIN): $(CPP_SOURCES) $(VENV)/.deps | image-apt
	PYTHON=$(VPY) PODMAN_GLOBAL_OPTS="$(PODMAN_RUNTIME)" PODMAN_RUN_OPTS="$(PODMAN_ULIMITS)" \
	  bash iptf/cpp/build_in_bullseye.sh $@
endif

$(WHEEL_STAMP): $(VENV)/.deps $(NODE_BIN) $(WHEEL_PLUGIN) $(PY_SOURCES) pyproject.toml hatch_build.py README.md iptf/python/iptf-tensorflow.pth
	rm -rf dist build/wheel
	IPTF_WHEEL_PLUGIN=$(CURDIR)/$(WHEEL_PLUGIN) $(VPY) -m pip wheel -q --no-deps --no-build-isolation -w build/wheel .
ifeq ($(SO),dylib)
	mkdir -p dist && cp build/wheel/*.whl dist/  # macOS: the plugin links only TensorFlow's library
else
	PATH=$(CURDIR)/$(VENV)/bin:$$PATH $(VPY) -m auditwheel repair -w dist --exclude 'libtensorflow_framework.so.*' build/wheel/*.whl
endif
	@ls -l dist/*.whl
	touch $@

# The node for other platforms, built and thrown away: proves they compile (see CROSS_PLATFORMS).
cross-node:
	@set -e; for p in $(CROSS_PLATFORMS); do \
	  echo "go build $$p"; \
	  GOOS=$${p%/*} GOARCH=$${p#*/} $(GO_BUILD) build/cross/iptf-node-$${p%/*}-$${p#*/}; \
	done

# The runtime image (podman, or docker where its engine runs), built from the wheel. BASE is any
# image with Python 3.11 and venv; where no registry is reachable, the default is a local Debian
# bookworm base made once by docker/base.sh. Its wheels are downloaded here, installed offline.
IMAGE ?= localhost/iptf-tensorflow:latest
LOCAL_BASE := localhost/iptf-base:bookworm
BASE ?= $(LOCAL_BASE)
IMAGE_CONTEXT := build/image

.PHONY: image image-test image-apt
image-apt:
	@$(MAKE) --no-print-directory apt APT_PACKAGES="$(IMAGE_APT)"

image: $(WHEEL_STAMP) | image-apt
	@if [ "$(BASE)" = "$(LOCAL_BASE)" ]; then \
	  bash docker/base.sh $(LOCAL_BASE) bookworm python3,python3-venv,ca-certificates build/image-base; fi
	rm -rf $(IMAGE_CONTEXT) && mkdir -p $(IMAGE_CONTEXT)/wheels
	cp docker/Dockerfile $(IMAGE_CONTEXT)/
	$(VPY) -m pip download -q --only-binary=:all: -d $(IMAGE_CONTEXT)/wheels "$$(ls dist/*.whl)[tensorflow-cpu]"
	podman build $(PODMAN_RUNTIME) $(PODMAN_ULIMITS) --layers=false --build-arg BASE=$(BASE) -t $(IMAGE) $(IMAGE_CONTEXT)
	@podman image inspect --format 'image $(IMAGE): {{.Size}} bytes' $(IMAGE)

# Builds the image under a test tag, runs TensorBoard in it on iptf:// logs and checks it from the
# host (HTTP API and a Chromium screenshot in perf/results/); removes what it made, but the base.
image-test: venv
	$(MAKE) --no-print-directory image IMAGE=localhost/iptf-tensorflow:image-test
	IPTF_TEST_IMAGE=localhost/iptf-tensorflow:image-test PODMAN_GLOBAL_OPTS="$(PODMAN_RUNTIME)" PODMAN_RUN_OPTS="$(PODMAN_ULIMITS)" \
	  $(VPY) -m pytest -q -p no:cacheprovider docker/test_image.py

# The fast tier: formatting, vet and unit tests of the Go node, and a Python lint; no TensorFlow,
# no npm, no test peers. `.ci/run` runs it before `make test`.
CHECK_VENV := build/check-venv
$(CHECK_VENV)/bin/ruff:
	$(PYTHON) -m venv $(CHECK_VENV)
	$(CHECK_VENV)/bin/python -m pip install -q "ruff==0.17.*"

check: $(CHECK_VENV)/bin/ruff
	@unformatted=$$(cd iptf/go && gofmt -l .); if [ -n "$$unformatted" ]; then echo "gofmt: $$unformatted"; exit 1; fi
	cd iptf/go && go vet ./... && go test ./...
	$(CHECK_VENV)/bin/ruff check iptf/python perf docker hatch_build.py

# Go's native fuzzing, FUZZTIME per target (their seed corpora also run in every `go test`),
# then the plugin's decoders of the node's answers, mutated, under the sanitizers (protocol_fuzz.cc).
FUZZTIME ?= 30s
FUZZ_TARGETS := ./uri:FuzzParse ./writeback:FuzzJournal ./fsapi:FuzzOperations
fuzz: venv
	@set -e; for t in $(FUZZ_TARGETS); do \
	  echo "fuzz $${t#*:} ($${t%%:*}, $(FUZZTIME))"; \
	  (cd iptf/go && go test -run '^$$' -fuzz "^$${t#*:}\$$" -fuzztime $(FUZZTIME) $${t%%:*}); \
	done
	PYTHON=$(CURDIR)/$(VPY) $(MAKE) -C iptf/cpp fuzz-bin
	TF_CPP_MIN_LOG_LEVEL=3 build/cpp/protocol_fuzz iptf/go/protocol/testdata $(FUZZTIME:s=)

# The Bazel workspace beside make (WORKSPACE, .bazelrc, BUILD files): Debian's Bazel 4.2.3 and
# rule packages, nothing downloaded. It builds with the Python environment make made (.venv).
BAZEL_APT := bazel-bootstrap bazel-rules-java bazel-platforms
bazel-apt:
	@$(MAKE) --no-print-directory apt APT_PACKAGES="$(BAZEL_APT)"

# Bazel's tests of the plugin (C++) and of TensorFlow on iptf:// (Python), then `bazel run` as a
# user runs it (iptf/python/bazel/test_bazel_run.py).
bazel-test: venv | bazel-apt
	bazel test //iptf/cpp:file_system_test //iptf/python:file_system_test
	$(VPY) -m pytest -q -p no:cacheprovider iptf/python/bazel/test_bazel_run.py

demo: venv
	$(VPY) -m iptf.demo --dir build/demo

test: venv wheel cross-node
	cd iptf/go && go test ./...
	$(VPY) -m pytest -q

# Benchmarks; each run is also kept as perf/results/bench-<commit>-<UTC time>.json for the dashboard.
bench: venv
	mkdir -p perf/results
	rm -f perf/results/latest.json
	$(VPY) -m pytest -q perf --benchmark-only --benchmark-json=perf/results/latest.json -p no:cacheprovider; rc=$$?; \
	if [ -s perf/results/latest.json ]; then \
	  cp perf/results/latest.json perf/results/bench-$$(git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)-$$(date -u +%Y%m%dT%H%M%SZ).json; \
	fi; exit $$rc

# Load test of `iptf serve` on 127.0.0.1: 64 clients, at most 60 s and 100000 requests; fails on any failed request.
loadtest: venv
	$(VPY) perf/loadtest/run.py $(LOADTEST_ARGS)

# Memory-leak checks (memray on TensorFlow streaming through iptf://, the node's Go heap over
# add/read cycles); not part of `make test`. Reports land in perf/results/leakcheck/.
leakcheck: venv
	$(VPY) -m pytest -q -s perf/leakcheck -p no:cacheprovider

# perf/results/dashboard.html from every result in perf/results/ (standard library only).
dashboard:
	$(PYTHON) perf/dashboard/build.py

# The gateway conformance suite (github.com/ipfs/gateway-conformance) is not served by the Go
# module proxy: build its tool from a checkout outside this tree, named by GATEWAY_CONFORMANCE_HOME.
gateway-conformance:
	@test -d "$(GATEWAY_CONFORMANCE_HOME)/cmd/gateway-conformance" || \
	  { echo "set GATEWAY_CONFORMANCE_HOME to a checkout of github.com/ipfs/gateway-conformance"; exit 1; }
	cd "$(GATEWAY_CONFORMANCE_HOME)" && GOWORK=off go build -o $(CURDIR)/build/tools/gateway-conformance ./cmd/gateway-conformance

clean:
	rm -rf $(VENV) $(NODE_BIN) build dist
