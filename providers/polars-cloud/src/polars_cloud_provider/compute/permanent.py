"""The failures no retry can fix (see ``failures``). Apart, because importing Airflow takes
seconds in a process that has not loaded it (a tool, a query's child process)."""

from __future__ import annotations

from airflow.sdk.exceptions import AirflowFailException


class PermanentFailure(AirflowFailException):
    """The data, the query or the configuration is wrong: fail now, a retry cannot help."""

    def __init__(self, message: str, what: str = "", uris: tuple[str, ...] = ()) -> None:
        Exception.__init__(self, message)  # not super(): a subclass may mix in QueryFailed
        self.what = what
        self.uris = uris


class NoLogicalDate(PermanentFailure, ValueError):
    """The run has no logical date, so an output has no ``ds`` partition to go to."""
