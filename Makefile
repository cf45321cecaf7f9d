# `make run` and `make test` each set up everything they need on a fresh machine.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
WAREHOUSE ?= data/warehouse.duckdb
DEMO_LEADS ?= 200000
PORT ?= 8501

.PHONY: run test setup demo bench lint clean chromium

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

run: $(VENV)/.installed-runtime $(WAREHOUSE)
	METRICS_WAREHOUSE=$(WAREHOUSE) $(PY) -m streamlit run app.py --server.port $(PORT) --server.headless true

# The browser tests drive Debian's Chromium (Playwright's own download is not reachable here).
CHROMIUM ?= /usr/bin/chromium
SUDO := $(shell [ "$$(id -u)" = "0" ] || echo sudo)

$(CHROMIUM):
	$(SUDO) apt-get update -qq
	$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null

chromium: $(CHROMIUM)

test: $(VENV)/.installed-dev $(CHROMIUM)
	$(PY) -m pytest -q

bench: $(VENV)/.installed-runtime
	$(PY) -m metrics bench

clean:
	rm -rf $(VENV) data/*.duckdb data/*.sqlite
