from lockclock import Clock

clock = Clock()


@clock.schedule("61 * * * *")
def job() -> None: ...
