UV ?= uv

.PHONY: install chromium run test fuzz lint bench clean asyncapi

install:
	@command -v $(UV) >/dev/null 2>&1 || pip install --quiet uv
	$(UV) sync --frozen
	@$(MAKE) --no-print-directory chromium

# The stats public page is checked in Debian's headless Chromium (driven by Playwright with
# the system browser; never `playwright install`). Installed when missing and we are root.
chromium:
	@if [ ! -x /usr/bin/chromium ]; then \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
			(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
				|| echo "could not install chromium: the public page test will fail"; \
		else \
			echo "chromium is missing (install Debian's chromium package): the public page test will fail"; \
		fi; \
	fi

run: install
	$(UV) run python deploy/run.py

test: install
	$(UV) run pytest

# Schemathesis against every service (tests/test_schemathesis.py): every check, positive
# and negative data, 50 examples per operation, a fixed seed. Its own target: it takes
# minutes, and `make test` leaves it out (the fuzz marker).
fuzz: install
	$(UV) run pytest -m fuzz tests/test_schemathesis.py

lint:
	$(UV) run ruff check .
	$(UV) run ruff format --check .
	$(UV) run mypy libs/common/src libs/testing/src libs/devstack/src services/intake/src services/sharing/src services/review/src services/stats/src

bench:
	$(UV) run python bench/propagation_bench.py
	$(UV) run python bench/channels_bench.py
	$(UV) run python bench/intake_bench.py
	$(UV) run python bench/review_bench.py
	$(UV) run python bench/stats_bench.py
	$(UV) run python bench/system_bench.py

asyncapi:
	$(UV) run python -m casebridge.common.asyncapi > docs/asyncapi.json

clean:
	rm -rf var
