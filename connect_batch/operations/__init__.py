"""The batch APIs, one module each, described for the engine in the terms of ``base``.

``contacts`` (BatchPutContact), ``campaigns_v2`` (PutOutboundRequestBatch) and
``campaigns_v1`` (PutDialRequestBatch) each hold their request builders and their
``BatchOperation``. This package must not know how the engine schedules calls.
"""
