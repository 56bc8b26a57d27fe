# IPTF build: the Go node, the TensorFlow plugin and the Python package, installed in .venv/.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
VPY := $(VENV)/bin/python
NODE_BIN := iptf/python/iptf/bin/iptf-node
PLUGIN := build/tensorflow-plugins/libiptf_fs.so
CPP_TEST := build/file_system_test
GO_SOURCES := $(shell find iptf/go -name '*.go') iptf/go/go.mod iptf/go/go.sum
CPP_SOURCES := $(wildcard iptf/cpp/*.cc iptf/cpp/*.h iptf/cpp/build.sh iptf/cpp/Makefile)
PY_SOURCES := $(shell find iptf/python/iptf -name '*.py')
HELIA := iptf/python/tests/peers/helia
APT_PACKAGES := nlohmann-json3-dev libgtest-dev iproute2 strace

.PHONY: venv demo test bench loadtest leakcheck dashboard apt clean gateway-conformance

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

$(NODE_BIN): $(GO_SOURCES)
	cd iptf/go && go build -trimpath -o ../python/iptf/bin/iptf-node ./cmd/iptf-node

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

demo: venv
	$(VPY) -m iptf.demo

test: venv
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
	rm -rf $(VENV) $(NODE_BIN) build
