"""Starting processes: settings resolved, Redis connected (or the development Redis
started), logging installed, the clock loop wired with its hooks, the CLI.

Nothing here is imported by the layers below; `runtime/__init__` re-exports nothing, so
importing one piece (as `Clock.run` does) pulls in no other.
"""
