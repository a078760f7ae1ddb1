"""Module-level @schedule on the default clock."""

from lockclock import schedule


@schedule("30 4 * * *", tz="America/New_York", name="nightly")
def nightly() -> None: ...


@schedule(every="15m", name="quarter")
def quarter() -> None: ...
