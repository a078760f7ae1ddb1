# The two commands a fresh machine needs (see README):
#   make run   - two clocks of examples/app.py on the embedded development Redis
#   make test  - the test suite against real redis-server processes
.PHONY: run test lint bench setup soak soak-short

setup:
	./scripts/bootstrap

run: setup
	.venv/bin/python scripts/clocks.py --clocks 2 examples.app

test: setup
	.venv/bin/ruff check lockclock tests bench examples scripts
	.venv/bin/ruff format --check lockclock tests bench examples scripts
	.venv/bin/mypy
	.venv/bin/python -m pytest -q

# The chaos soak (README "Guarantees and how we test them"): 3 clocks under every fault.
SEED ?= $(shell python3 -c 'import random; print(random.randrange(1 << 31))')
soak: setup
	.venv/bin/python -m tests.chaos --minutes 30 --clocks 3 --seed $(SEED)

soak-short: setup
	.venv/bin/python -m tests.chaos --minutes 2 --clocks 3 --seed $(SEED)

bench: setup
	.venv/bin/python bench/lateness.py
	.venv/bin/python bench/failover.py
	.venv/bin/python bench/redis_work.py
	.venv/bin/python bench/burst.py
	.venv/bin/python bench/durability.py
	.venv/bin/python bench/sentry_slow.py
