"""Sentry: Crons monitors, check-ins and events, plugged into the clock as a hook.

`options` and `monitors` are pure (no SDK); the rest talks to sentry-sdk.
"""
