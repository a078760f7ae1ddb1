"""The dashboard: server-rendered HTML pages over the same read model and control API
as the JSON routes, served under /ui/ by the same app. Logging in with the API token
(or the read token) buys a signed session cookie; forms carry a CSRF token. No
JavaScript, no template engine, no build step: stdlib only.

This package imports nothing at import time: `lockclock.web.auth` imports its gate.
"""
