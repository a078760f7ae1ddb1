"""A minimal Django project embedding the clock as the README's Django snippet does.
Tests copy this folder and run it with the copy's parent on PYTHONPATH, so it imports as
`django_site` (and a test may touch its files to make runserver reload)."""
