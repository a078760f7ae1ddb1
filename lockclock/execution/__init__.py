"""Running claimed runs and recording how each ended.

`executor.py` is the seam the clock loop knows; `inline.py` runs jobs in the clock's own
process; `job.py` calls a job's function as a run; `recording.py` writes outcomes, the
one place every executor shares.
"""
