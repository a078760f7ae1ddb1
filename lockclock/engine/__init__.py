"""The clock: `loop.py` steps `leadership.py` (who is active) and `dispatch.py` (what
is due, claimed and handed to the executor)."""
