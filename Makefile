# The two commands a fresh machine needs (see README):
#   make run   - two clocks of examples/app.py on the embedded development Redis
#   make test  - the test suite against real redis-server processes
.PHONY: run test lint bench setup

setup:
	./scripts/bootstrap

run: setup
	.venv/bin/python scripts/clocks.py --clocks 2 examples.app

test: setup
	.venv/bin/ruff check lockclock tests bench examples scripts
	.venv/bin/ruff format --check lockclock tests bench examples scripts
	.venv/bin/mypy
	.venv/bin/python -m pytest -q

bench: setup
	.venv/bin/python bench/lateness.py
	.venv/bin/python bench/failover.py
	.venv/bin/python bench/redis_work.py
	.venv/bin/python bench/burst.py
