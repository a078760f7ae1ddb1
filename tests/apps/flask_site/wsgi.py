"""The README's Flask snippet, word for word but for the module paths."""

import os

from flask_site import create_app

from tests.apps.worker_app import clock

app = create_app()
if not app.debug or os.environ.get("WERKZEUG_RUN_MAIN") == "true":
    clock.start()  # lockclock stops it at exit
