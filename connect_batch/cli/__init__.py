"""The ``connect-batch`` command line: ``connect-batch put FILE``.

One module per concern: ``api`` (the APIs, exit statuses, errors), ``args`` (the parser and
the checks before anything is read), ``columns`` and ``rows`` (reading the input strictly),
``outcome_file`` (the outcomes file and what a resume may do), ``connect`` (the client),
``send`` (the passes), ``progress`` (what is shown), ``telemetry`` (``--otel``) and ``main``
(the wiring).

It uses only the library's public names (``connect_batch``, ``connect_batch.events``,
``connect_batch.runs``, ``connect_batch.testing``, ``connect_batch.otel``,
``connect_batch.progress``), as any application could; a test checks.
"""

from connect_batch.cli.main import main, put

__all__ = ["main", "put"]
