"""The dashboard's live server and chromium fixtures, for the supervisor page's browser test."""

from tests.dashboard.conftest import browser, contexts, live, server  # noqa: F401
