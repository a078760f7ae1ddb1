"""A Clock whose namespace is set in code."""

from lockclock import Clock

clock = Clock(namespace="from-code")


@clock.schedule(every="1h", name="hourly")
def hourly() -> None: ...
