"""Coordination through Redis: the only code that knows key names and scripts.

Safety (at most one dispatch per tick) lives in `claims.py` and `lua/claim.lua`;
liveness (who does the work) in `lease.py`; what survives Redis losing writes in
`recovery.py`; the key layout in `keys.py`.
"""
