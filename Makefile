# The two front doors: `make up` runs the channel, `make test` runs the tests.
# Both install what is missing first, every time: Debian packages through apt
# (when run as root), Python packages into .venv, hls.js from npm.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
# Debian packages, each checked by a command it provides (Node.js from elsewhere
# often bundles npm) or, for those without one, by dpkg.
NEED_COMMANDS := ffmpeg:ffmpeg ffprobe:ffmpeg chromium:chromium nginx:nginx npm:nodejs,npm systemd-analyze:systemd
# postgresql: the server the tests start a throw-away cluster of (and a PostgreSQL storage.url can use).
NEED_PACKAGES := libnginx-mod-rtmp fonts-dejavu-core postgresql
# The demo profile keeps a 2-core machine responsive; a vvtv.toml of your own takes over.
CONFIG := $(if $(wildcard vvtv.toml),vvtv.toml,deploy/demo.toml)

.PHONY: up test setup system browser-user python test-python web bench

up: setup
	VVTV_CONFIG=$${VVTV_CONFIG:-$(CONFIG)} $(VENV)/bin/vvtv up

test: setup test-python
	$(PY) -m pytest

setup: system browser-user python web

system:
	@missing=$$(for pair in $(NEED_COMMANDS); do command -v $${pair%%:*} >/dev/null || echo $${pair#*:} | tr , ' '; done; \
		for p in $(NEED_PACKAGES); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q 'ok installed' || echo $$p; done; \
		$(PYTHON) -c 'import ensurepip, venv' 2>/dev/null || echo python3-venv); \
	missing=$$(echo $$missing | tr ' ' '\n' | sort -u | tr '\n' ' '); \
	if [ -n "$${missing// }" ]; then \
		if [ "$$(id -u)" = 0 ]; then \
			echo "Installing Debian packages: $$missing"; \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
		else \
			echo "Missing Debian packages; run as root or: sudo apt-get install $$missing"; exit 1; \
		fi; \
	fi

# The account Chromium runs as when the Curator runs as root (discovery.browser_user): a browser
# taken over by a page is then sandboxed and cannot read the database (mode 0600, root's).
browser-user:
	@if [ "$$(id -u)" = 0 ] && ! id -u vvtv-browser >/dev/null 2>&1; then \
		echo "Creating the account vvtv-browser (Chromium runs as it)"; \
		useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin vvtv-browser; \
	fi

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip

python: $(VENV)/.base-installed
$(VENV)/.base-installed: pyproject.toml | $(VENV)/bin/python
	$(PIP) install -q -e .
	touch $@

# torch first and pinned: any other spec pulls a multi-GB CUDA build.
test-python: $(VENV)/.test-installed
$(VENV)/.test-installed: pyproject.toml | $(VENV)/bin/python
	$(PIP) install -q torch==2.13.0
	$(PIP) install -q -e '.[test,embeddings]'
	touch $@

web: src/vvtv/origin/static/vendor/hls.min.js
src/vvtv/origin/static/vendor/hls.min.js: package.json package-lock.json
	npm ci --no-audit --no-fund --silent
	sh scripts/vendor_player.sh

bench: setup test-python
	$(PY) bench/broadcaster.py
	$(PY) bench/curator.py
	$(PY) bench/factory.py
	$(PY) bench/programming.py
	$(PY) bench/scaleout.py
	$(PY) bench/restart.py
