"""tracemail: see, live, what happened to a message or a login on a mail service."""

__version__ = "0.1.0"
