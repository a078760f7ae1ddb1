# The two commands a fresh machine needs (see README):
#   make run   - two clocks of examples/app.py on the embedded development Redis
#   make test  - the test suite against real redis-server processes
.PHONY: run example test test-fast lint bench setup soak soak-inline soak-short

setup:
	./scripts/bootstrap

run: setup
	.venv/bin/python scripts/clocks.py --clocks 2 --workers 2 examples.app

# The clock embedded in two FastAPI processes, the dashboard mounted (issue: embedding)
example: setup
	.venv/bin/python scripts/clocks.py --clocks 0 --web 2 examples.web_app:app

test: setup
	.venv/bin/ruff check lockclock tests bench examples scripts
	.venv/bin/ruff format --check lockclock tests bench examples scripts
	.venv/bin/mypy
	.venv/bin/python -m pytest -q -n 2 tests/unit
	.venv/bin/python -m pytest -q -n 2 tests/system -m "not serial"
	.venv/bin/python -m pytest -q tests/system -m serial

# The pure and script tests only (real redis-server, no subprocesses): under a minute.
test-fast: setup
	.venv/bin/python -m pytest -q -n 2 tests/unit

# The chaos soak (README "Guarantees and how we test them"): 3 clocks and 3 workers
# under every fault; soak-inline without workers (the clocks run the jobs).
SEED ?= $(shell python3 -c 'import random; print(random.randrange(1 << 31))')
soak: setup
	.venv/bin/python -m tests.chaos --minutes 30 --clocks 3 --workers 3 --seed $(SEED)

soak-inline: setup
	.venv/bin/python -m tests.chaos --minutes 30 --clocks 3 --seed $(SEED)

# CI: a short soak with workers (inline clocks are soaked by `make soak-inline`).
soak-short: setup
	.venv/bin/python -m tests.chaos --minutes 1 --clocks 3 --workers 2 --seed $(SEED)

bench: setup
	.venv/bin/python bench/lateness.py
	.venv/bin/python bench/failover.py
	.venv/bin/python bench/redis_work.py
	.venv/bin/python bench/burst.py
	.venv/bin/python bench/durability.py
	.venv/bin/python bench/sentry_slow.py
	.venv/bin/python bench/workers.py
	.venv/bin/python bench/long_jobs.py --trials 3
