# RadFlow: `make run` starts the demo department, `make test` runs every check.
# Both work from a fresh clone: they build the virtualenv from the hashed lock files first.

PYTHON ?= python3
VENV := .venv
UV ?= uv
BIN := $(VENV)/bin
DATA_DIR ?= var
export RADFLOW_DATA_DIR ?= $(abspath $(DATA_DIR))

.PHONY: run test install install-dev system-test-deps system-run-deps lint typecheck migrations-check pytest bench lock clean

$(VENV)/.installed: requirements.lock pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --require-hashes --no-deps -r requirements.lock
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $@

$(VENV)/.installed-dev: requirements-dev.lock $(VENV)/.installed
	$(BIN)/python -m pip install --quiet --require-hashes --no-deps -r requirements-dev.lock
	touch $@

install: $(VENV)/.installed

install-dev: $(VENV)/.installed-dev

## Debian packages the tests drive for real (a browser, dcmtk's DICOM client); installed only
## when missing.
system-test-deps:
	@missing=""; \
	test -x /usr/bin/chromium || missing="$$missing chromium"; \
	test -x /usr/bin/findscu || missing="$$missing dcmtk"; \
	test -x /usr/bin/pdftotext || missing="$$missing poppler-utils"; \
	ldconfig -p | grep -q libpangoft2-1.0 || missing="$$missing libpango-1.0-0 libpangoft2-1.0-0"; \
	test -z "$$missing" || { \
	  echo "Installing Debian packages for the tests:$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; }

## WeasyPrint (the PDF reports) needs Pango; installed only when missing.
system-run-deps:
	@ldconfig -p | grep -q libpangoft2-1.0 || { \
	  echo "Installing Debian's Pango for the PDF reports"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libpango-1.0-0 libpangoft2-1.0-0; }

run: install system-run-deps
	@mkdir -p $(RADFLOW_DATA_DIR)
	@test -s $(RADFLOW_DATA_DIR)/secret_key || $(BIN)/python -c "import secrets; print(secrets.token_urlsafe(50))" > $(RADFLOW_DATA_DIR)/secret_key
	SECRET_KEY_FILE=$(RADFLOW_DATA_DIR)/secret_key $(BIN)/radflow migrate --no-input -v0
	SECRET_KEY_FILE=$(RADFLOW_DATA_DIR)/secret_key $(BIN)/radflow load_reference
	SECRET_KEY_FILE=$(RADFLOW_DATA_DIR)/secret_key $(BIN)/radflow demo --seed 1 --if-empty
	SECRET_KEY_FILE=$(RADFLOW_DATA_DIR)/secret_key $(BIN)/radflow collectstatic --no-input -v0
	@echo
	@echo "RadFlow is starting at http://127.0.0.1:8000"
	@SECRET_KEY_FILE=$(RADFLOW_DATA_DIR)/secret_key $(BIN)/radflow demo --print-logins
	SECRET_KEY_FILE=$(RADFLOW_DATA_DIR)/secret_key PATH=$(abspath $(BIN)):$$PATH $(BIN)/honcho start -f Procfile

test: install-dev system-test-deps lint typecheck migrations-check pytest

lint: install-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: install-dev
	RADFLOW_TESTING=1 $(BIN)/mypy radflow tests

migrations-check: install-dev
	RADFLOW_TESTING=1 RADFLOW_DATA_DIR=$$(mktemp -d) $(BIN)/radflow makemigrations --check --dry-run

pytest: install-dev
	scripts/pytest-all-databases

bench: install-dev
	@ls bench/*.py >/dev/null 2>&1 && for b in bench/*.py; do $(BIN)/python $$b; done || echo "no benchmarks yet"

## Re-resolve the lock files after editing pyproject.toml (needs `uv`).
lock:
	$(UV) pip compile pyproject.toml --generate-hashes --python-version 3.11 -o requirements.lock
	$(UV) pip compile pyproject.toml --extra dev --generate-hashes --python-version 3.11 -o requirements-dev.lock

clean:
	rm -rf $(VENV) test-results .pytest_cache .mypy_cache .ruff_cache
