# `make run` and `make test` each set up everything they need on a fresh machine.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
WAREHOUSE ?= data/warehouse.duckdb
DEMO_LEADS ?= 200000
PORT ?= 8501
# The review pack (PDF) prints labels such as "MQL → SAL" in DejaVu Sans; without it the pack
# falls back to ReportLab's bundled font and prints the arrow as "->".
PACK_FONT ?= /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf

.PHONY: run test setup demo bench lint clean chromium screenshots engines

$(VENV)/.installed-runtime: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.installed-dev: requirements-dev.txt requirements.txt $(VENV)/.installed-runtime
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@

setup: $(VENV)/.installed-runtime

$(WAREHOUSE): | $(VENV)/.installed-runtime
	$(PY) -m metrics demo --leads $(DEMO_LEADS) --warehouse $(WAREHOUSE)

demo: $(VENV)/.installed-runtime
	$(PY) -m metrics demo --leads $(DEMO_LEADS) --warehouse $(WAREHOUSE)

run: $(VENV)/.installed-runtime $(WAREHOUSE) $(PACK_FONT)
	METRICS_WAREHOUSE=$(WAREHOUSE) $(PY) -m ui.serve --server.port $(PORT) --server.headless true

# Best effort: without apt (or sudo) the app still runs and the pack uses the bundled font.
$(PACK_FONT):
	-$(SUDO) apt-get update -qq
	-$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq fonts-dejavu-core >/dev/null

# The browser tests drive Debian's Chromium (Playwright's own download is not reachable here).
CHROMIUM ?= /usr/bin/chromium
SUDO := $(shell [ "$$(id -u)" = "0" ] || echo sudo)

$(CHROMIUM):
	$(SUDO) apt-get update -qq
	$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null

chromium: $(CHROMIUM)

# The sign-in test runs a real OpenID Connect provider (oidc-provider, pinned by its lock file)
# on Node.js; npm ci installs exactly the locked versions, and nothing downloads at test time.
NODE ?= /usr/bin/node
IDP := tests/e2e/oidc

$(NODE):
	$(SUDO) apt-get update -qq
	$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null

$(IDP)/node_modules/.installed: $(IDP)/package.json $(IDP)/package-lock.json | $(NODE)
	npm ci --prefix $(IDP) --no-audit --no-fund --ignore-scripts --loglevel=error
	touch $@

# The engine parity tests start a real PostgreSQL 15 server (as the postgres user) and a
# standalone Spark cluster (pyspark's own scripts, on Java 17); ClickHouse runs in-process (chdb).
POSTGRES_BIN ?= /usr/lib/postgresql/15/bin
JAVA ?= /usr/bin/java

$(POSTGRES_BIN)/initdb:
	$(SUDO) apt-get update -qq
	$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql-15 >/dev/null

$(JAVA):
	$(SUDO) apt-get update -qq
	$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openjdk-17-jre-headless >/dev/null

engines: $(POSTGRES_BIN)/initdb $(JAVA) $(PACK_FONT)

test: $(VENV)/.installed-dev $(CHROMIUM) $(IDP)/node_modules/.installed $(POSTGRES_BIN)/initdb $(JAVA) $(PACK_FONT)
	$(PY) -m pytest -q

# The README's pictures: every page of a 200,000-lead demo in Chromium (look at them first).
screenshots: $(VENV)/.installed-dev $(CHROMIUM)
	$(PY) tools/readme_screenshots.py

bench: $(VENV)/.installed-runtime
	$(PY) -m metrics bench

clean:
	rm -rf $(VENV) $(IDP)/node_modules data/*.duckdb data/*.sqlite
