"""Assembly: building the runtime and starting the background work, above every domain; only
app/main.py, app/cli.py and tests import it."""
