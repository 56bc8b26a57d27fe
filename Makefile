# IPTF build: the Go node, the Python package (and later the TensorFlow plugin) in .venv/.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
VPY := $(VENV)/bin/python
NODE_BIN := iptf/python/iptf/bin/iptf-node
GO_SOURCES := $(shell find iptf/go -name '*.go') iptf/go/go.mod iptf/go/go.sum
HELIA := iptf/python/tests/peers/helia
APT_PACKAGES :=

.PHONY: venv demo test bench apt clean

venv: $(VENV)/.installed

# Debian packages the tests need, installed when missing and when run as root.
apt:
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	  else echo "missing Debian packages:$$missing (run make as root or install them)"; exit 1; fi; \
	fi

$(NODE_BIN): $(GO_SOURCES)
	cd iptf/go && go build -trimpath -o ../python/iptf/bin/iptf-node ./cmd/iptf-node

$(VPY):
	$(PYTHON) -m venv $(VENV)
	$(VPY) -m pip install -q --upgrade pip

$(VENV)/.installed: pyproject.toml $(NODE_BIN) $(HELIA)/node_modules/.installed | $(VPY) apt
	$(VPY) -m pip install -q -e '.[test]'
	touch $@

$(HELIA)/node_modules/.installed: $(HELIA)/package.json $(HELIA)/package-lock.json
	npm ci --prefix $(HELIA) --no-audit --no-fund --loglevel=error
	touch $@

demo: venv
	$(VPY) -m iptf.demo

test: venv
	cd iptf/go && go test ./...
	$(VPY) -m pytest -q

bench: venv
	mkdir -p perf/results
	$(VPY) -m pytest -q perf --benchmark-only --benchmark-json=perf/results/latest.json -p no:cacheprovider

clean:
	rm -rf $(VENV) $(NODE_BIN) build
