"""A chaos soak: real clocks under a platform's restart pattern and every fault we
promise to survive, judged by a ledger the jobs write outside lockclock's keys.

    python -m tests.chaos --minutes 30 --clocks 3 [--seed N]
"""
