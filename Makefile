# The two commands README.md starts with:
#   make audit   set up a venv, install the collection, audit this machine (or INVENTORY=...)
#   make test    install test prerequisites (Debian packages when root), run every check
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV ?= $(CURDIR)/.venv
BIN := $(VENV)/bin
VERSION := $(shell sed -n 's/^version: *//p' galaxy.yml)
TARBALL := build/dist/kubeprep-hostnet-$(VERSION).tar.gz
COLLECTIONS := $(CURDIR)/build/collections
INVENTORY ?=
FAIL_ON ?= error
REPORT_DIR ?= $(CURDIR)/hostnet-report
APT_PACKAGES := openssh-server openssh-client nftables iptables ifupdown iproute2 util-linux procps sudo python3 etcd-server golang-go chromium radvd \
	systemd-container debootstrap dnsmasq-base conntrack ethtool socat
SOURCES := galaxy.yml README.md bindep.txt requirements.txt $(shell find meta plugins roles playbooks docs ee -type f -not -name '*.pyc' 2>/dev/null)

export PATH := $(BIN):$(PATH)
export ANSIBLE_COLLECTIONS_PATH := $(COLLECTIONS)
export ANSIBLE_HOST_KEY_CHECKING := False
export ANSIBLE_PIPELINING := True
export ANSIBLE_NOCOLOR := $(if $(CI),1,)
export ANSIBLE_FORCE_COLOR := $(if $(CI),,)
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: help audit test bench ee release docs docs-rules docs-check new-rule venv test-venv install system-deps lint sanity unit integration machine-images machines molecule clean

help:
	@echo "make audit   - audit this machine (INVENTORY=path to audit hosts; FAIL_ON=error to gate)"
	@echo "make test    - install prerequisites and run lint, unit, integration, booted-machine and Molecule tests"
	@echo "make docs    - docs site with antsibull-docs and Sphinx (warnings are errors) in build/docsite"
	@echo "make ee      - execution environment build context in build/ee (ansible-builder create)"
	@echo "make release - changelog, tarball, install from it, smoke audit (VERSION=x.y.z)"
	@echo "make bench   - fleet benchmark on 5, 20, 50 test hosts, 50 vs 200, report writing and the 5,000-host page (root; BENCH_ARGS='--sizes 5 20 --repeat 3')"
	@echo "make docs-rules - write docs/rules/<id>.md, README's rule table, docs/remediation.md's table from the registry"
	@echo "make docs-check - fail when a page or table generated from the registry is stale (make test runs it)"
	@echo "make new-rule ID=<id> SCOPE=host|fleet - write a rule module and its unit test to fill in"

$(BIN)/.run-deps: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q -r requirements.txt
	touch $@

$(BIN)/.test-deps: $(BIN)/.run-deps requirements-test.txt
	$(BIN)/pip install -q -r requirements-test.txt
	touch $@

venv: $(BIN)/.run-deps
test-venv: $(BIN)/.test-deps

$(TARBALL): $(BIN)/.run-deps $(SOURCES)
	@mkdir -p build/dist
	$(BIN)/ansible-galaxy collection build --force --output-path build/dist .

# Installed from the built tarball, as a user would: proves the build is complete.
install: $(TARBALL)
	$(BIN)/ansible-galaxy collection install --force -p $(COLLECTIONS) $(TARBALL) >/dev/null
	@echo "installed kubeprep.hostnet $(VERSION) into $(COLLECTIONS)"

audit: install
	ANSIBLE_CALLBACKS_ENABLED=kubeprep.hostnet.hostnet_progress $(BIN)/ansible-playbook kubeprep.hostnet.audit $(if $(INVENTORY),-i $(INVENTORY),) \
		-e hostnet_report_dir=$(REPORT_DIR) -e hostnet_fail_on=$(FAIL_ON)
	@echo "report: $(REPORT_DIR)/hostnet-report.md (also .json, .junit.xml, .html)"

system-deps:
	@missing=""; for p in $(APT_PACKAGES); do dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; done; \
	if [ -z "$$missing" ]; then echo "system packages present"; \
	elif [ "$$(id -u)" = 0 ]; then \
		echo "installing:$$missing"; apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	else echo "missing Debian packages:$$missing (run make test as root, or install them)"; exit 1; fi

# Pages and tables generated from the rule registry (plugins/plugin_utils/rules/): written, or checked.
docs-rules: test-venv
	$(BIN)/python tests/tools/rules_docs.py

docs-check: test-venv
	$(BIN)/python tests/tools/rules_docs.py --check

new-rule: test-venv
	@[ -n "$(ID)" ] && [ -n "$(SCOPE)" ] || { echo "usage: make new-rule ID=<rule-id> SCOPE=host|fleet"; exit 2; }
	$(BIN)/python tests/tools/new_rule.py "$(ID)" "$(SCOPE)"

lint: test-venv install docs-check
	$(BIN)/ruff check plugins tests molecule bench docs/site
	$(BIN)/ruff format --check plugins tests molecule bench docs/site
	$(BIN)/ansible-lint --offline --nocolor -q

# ansible-test wants the collection at .../ansible_collections/kubeprep/hostnet and a
# git checkout to list files; it bootstraps pip from a script it downloads, which
# tests/sanity/get_pip_offline.py replaces offline (ensurepip, then the configured index).
SANITY_TREE := build/sanity/ansible_collections/kubeprep/hostnet
sanity: test-venv
	@mkdir -p $(HOME)/.ansible/test/cache
	@[ -f $(HOME)/.ansible/test/cache/get_pip_24_2.py ] || cp tests/sanity/get_pip_offline.py $(HOME)/.ansible/test/cache/get_pip_24_2.py
	rm -rf build/sanity && mkdir -p $(SANITY_TREE)
	git ls-files -z --cached --others --exclude-standard | xargs -0 cp --parents -t $(SANITY_TREE)
	cd $(SANITY_TREE) && git init -q && git add -A && $(BIN)/ansible-test sanity --venv --python 3.11 --color no

unit: test-venv system-deps
	$(BIN)/pytest -q tests/unit

# Booted Debian 12 and 11 machines (systemd-nspawn) for what needs a real boot: debootstrapped once
# into /var/cache/kubeprep-hostnet/images (KUBEPREP_IMAGE_CACHE), about 2 min each, then reused.
machine-images: system-deps
	$(PYTHON) tests/harness/images.py build bookworm bullseye

integration: test-venv install system-deps machine-images
	$(BIN)/pytest -q tests/integration

machines: test-venv install system-deps machine-images
	$(BIN)/pytest -q tests/machines

molecule: test-venv install system-deps
	cd $(CURDIR) && $(BIN)/molecule test --all

test: system-deps test-venv install lint sanity unit integration machines molecule docs

# The docs site: antsibull-docs writes the plugin and role reference as RST from the installed
# collection, Sphinx builds it with warnings as errors (-W). Its own venv: Sphinx is not a test tool.
DOCS_VENV := $(CURDIR)/.venv-docs
DOCS_BUILD := $(CURDIR)/build/docsite
$(DOCS_VENV)/.deps: docs/site/requirements.txt
	$(PYTHON) -m venv $(DOCS_VENV)
	$(DOCS_VENV)/bin/pip install -q -r docs/site/requirements.txt
	touch $@

docs: $(DOCS_VENV)/.deps install
	rm -rf $(DOCS_BUILD) && mkdir -p $(DOCS_BUILD)/rst && chmod og-w $(DOCS_BUILD)/rst
	cp docs/site/conf.py docs/site/antsibull-docs.cfg $(DOCS_BUILD)/ && cp docs/site/index.rst $(DOCS_BUILD)/rst/
	$(DOCS_VENV)/bin/python docs/site/ansible_inventory.py $(DOCS_BUILD)/ansible_devel.inv
	cd $(DOCS_BUILD) && $(DOCS_VENV)/bin/antsibull-docs --config-file antsibull-docs.cfg collection \
		--cleanup everything --fail-on-error --use-current --dest-dir rst kubeprep.hostnet
	cd $(DOCS_BUILD) && $(DOCS_VENV)/bin/sphinx-build -M html rst build -c . -W --keep-going -q
	@echo "docs site: $(DOCS_BUILD)/build/html/index.html"

# An execution environment build context (ansible-builder create; no container engine needed).
EE_CONTEXT := build/ee
ee: test-venv $(TARBALL)
	rm -rf $(EE_CONTEXT) build/ee-src && mkdir -p build/ee-src && cp $(TARBALL) build/ee-src/kubeprep-hostnet.tar.gz
	$(BIN)/ansible-builder create -f ee/execution-environment.yml -c $(EE_CONTEXT) --output-filename Containerfile
	@echo "build it with: podman build -t kubeprep-hostnet-ee $(EE_CONTEXT)"

# Release VERSION (default: galaxy.yml's): changelog from the fragments, tarball, install, smoke audit.
# tests/integration/test_packaging.py runs the same steps on a copy of the tree in make test.
release: test-venv
	$(BIN)/antsibull-changelog lint
	$(BIN)/antsibull-changelog release --version $(VERSION)
	$(MAKE) install
	$(BIN)/ansible-playbook kubeprep.hostnet.audit -e hostnet_fail_on=never -e hostnet_report_dir=$(CURDIR)/build/release-smoke
	@echo "released $(VERSION): $(TARBALL), CHANGELOG.rst; tag it: git tag $(VERSION)"

# Not part of make test: speed is measured and reported here, never asserted.
bench: test-venv install system-deps
	$(BIN)/pip install -q -r requirements-bench.txt
	$(BIN)/python bench/fleet.py $(BENCH_ARGS)
	$(BIN)/python bench/report_page.py

clean:
	-$(BIN)/python tests/harness/testhosts.py down --all 2>/dev/null
	rm -rf build hostnet-report .pytest_cache .ruff_cache .venv-docs
