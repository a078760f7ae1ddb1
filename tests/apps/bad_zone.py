from lockclock import Clock

clock = Clock()


@clock.schedule("0 3 * * *", tz="Mars/Base")
def job() -> None: ...
