# Two commands for a fresh machine: `make serve` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
WEB_STAMP := web/vendor/.stamp

.PHONY: setup serve test lint format demo clean system bench interop-setup

# What serving needs: the venv (rasterio and pyogrio bring their own GDAL) and the vendored JS.
setup: $(STAMP) $(WEB_STAMP)

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(STAMP): $(VENV)/bin/python pyproject.toml
	$(BIN)/pip install -q -e '.[dev]'
	touch $(STAMP)

# The map's JavaScript: pinned in web/package-lock.json, copied into web/vendor (served locally).
$(WEB_STAMP): web/package.json web/package-lock.json web/vendor.mjs
	cd web && npm ci --no-audit --no-fund --loglevel=error && node vendor.mjs
	touch $(WEB_STAMP)

# What the tests also need, from Debian, once per machine: GDAL's tools, QGIS (PyQGIS runs on
# /usr/bin/python3), Chromium (Playwright drives /usr/bin/chromium; it cannot download one),
# nginx (tests/multi: three instances behind deploy/nginx-multi.conf) and PostgreSQL 15 with
# PostGIS (tests/engines/postgres.py makes a throw-away cluster of it).
system:
	@missing=""; command -v gdalinfo >/dev/null || missing="$$missing gdal-bin"; \
	QT_QPA_PLATFORM=offscreen /usr/bin/python3 -c "import qgis.core" 2>/dev/null || missing="$$missing qgis python3-qgis"; \
	command -v chromium >/dev/null || missing="$$missing chromium"; \
	test -x /usr/sbin/nginx || command -v nginx >/dev/null || missing="$$missing nginx-light"; \
	test -f /usr/share/postgresql/15/extension/postgis.control || missing="$$missing postgresql-15 postgresql-15-postgis-3"; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  if [ "$$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq -o DPkg::Lock::Timeout=600 --no-install-recommends $$missing >/dev/null; \
	fi

# QGIS 3.40 (current LTR) in a Debian trixie chroot, for the interop tests: root only, ~2.5 GB once.
interop-setup: system
	bash tests/interop/setup_trixie_qgis.sh

demo: setup
	$(BIN)/tumen demo

serve: setup
	$(BIN)/tumen demo
	$(BIN)/tumen serve

test: setup system interop-setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/pytest --durations=15
	# Once more on PostgreSQL/PostGIS and S3 (a throw-away cluster and SeaweedFS, made and removed
	# by the fixtures): every test that reaches the catalog, store or storage (tests/conftest.py).
	$(BIN)/pytest --backend=postgres+s3 --durations=15

lint:
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format:
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

clean:
	rm -rf $(VENV) data .pytest_cache web/node_modules web/vendor

# Benchmarks (not tests): Debian's wrk and nginx, then the tile benchmark on the demo data.
bench: setup
	@command -v wrk >/dev/null && command -v nginx >/dev/null || { \
	  if [ "$$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq -o DPkg::Lock::Timeout=600 --no-install-recommends wrk nginx-light >/dev/null; }
	$(BIN)/tumen demo
	$(BIN)/python bench/tiles.py
