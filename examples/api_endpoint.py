"""An API endpoint that puts outbound requests: FastAPI on the async client.

``POST /outbound-requests`` takes up to 1,000 requests and an ``Idempotency-Key`` header,
which becomes the run's job key. The caller's retry of the same POST (a timeout, a 503)
sends the same tokens, so the service replays what it created and nobody is contacted
twice; each request's ``key`` (a CRM id) is its ``key=``, so a retry whose body was
reordered or edited still replays request by request.

- 200: every request has a known outcome (created, or failed and known not created).
- 503 with ``Retry-After``: some outcome is unknown (an answer lost, a deadline). The
  caller retries the same POST with the same key; that settles them.
- 422: a request is invalid; nothing was sent. The error names the request's position and
  field, never its value.
- 409: the campaign is not running; nothing more was sent.

One client is made at start-up and shared by every request handled: its limiter paces
them all, and its calls run on the server's event loop, with no thread.

    CAMPAIGN_ID=... uvicorn --factory examples.api_endpoint:from_environment
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import AsyncIterator
from typing import Any, Literal

from aiobotocore.session import get_session
from fastapi import FastAPI, Header, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from connect_batch import (
    AsyncOutboundRequestBatchClient,
    CampaignStateError,
    ContactValidationError,
    OutboundRequest,
    RunAbortedError,
)


class RequestIn(BaseModel):
    """One request as the endpoint's callers write it."""

    key: str = Field(min_length=1, max_length=200, description="your id for it, a CRM id")
    phone: str
    channel: Literal["telephony", "sms"] = "telephony"
    attributes: dict[str, str] = Field(default_factory=dict)


class Batch(BaseModel):
    requests: list[RequestIn] = Field(min_length=1, max_length=1000)


def to_request(item: RequestIn) -> OutboundRequest:
    """Build (and so validate) the library's request; raises ``ContactValidationError``."""
    if item.channel == "sms":
        return OutboundRequest.sms(item.phone, template_parameters=item.attributes, key=item.key)
    return OutboundRequest.telephony(item.phone, attributes=item.attributes, key=item.key)


def create_app(
    campaign_id: str, *, endpoint_url: str | None = None, **options: Any
) -> FastAPI:
    """The app, with one shared client made at start-up (``options`` are the client's)."""

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with get_session().create_client(
            "connectcampaignsv2", endpoint_url=endpoint_url
        ) as aio:
            app.state.client = AsyncOutboundRequestBatchClient(
                aio, campaign_id=campaign_id, **options
            )
            yield

    app = FastAPI(lifespan=lifespan)

    @app.exception_handler(RequestValidationError)
    async def invalid_body(_: Request, error: RequestValidationError) -> JSONResponse:
        # FastAPI's default 422 echoes each offending value: a phone number or an attribute
        # would go back out (and into any proxy's log). Name where and what, not the value.
        detail = [{"loc": e["loc"], "msg": e["msg"], "type": e["type"]} for e in error.errors()]
        return JSONResponse({"detail": detail}, status_code=422)

    @app.post("/outbound-requests")
    async def put_requests(
        batch: Batch, request: Request, idempotency_key: str = Header(min_length=8)
    ) -> JSONResponse:
        built: list[OutboundRequest] = []
        for position, item in enumerate(batch.requests):
            try:
                built.append(to_request(item))
            except ContactValidationError as error:  # its message holds no value
                detail = {"position": position, "field": error.field, "reason": error.reason}
                raise HTTPException(422, detail=detail) from None
        client: AsyncOutboundRequestBatchClient = request.app.state.client
        try:
            result = await client.put_requests(built, job_key=f"api/{idempotency_key}")
        except CampaignStateError as error:
            raise HTTPException(
                409, detail=f"campaign is {error.state}; nothing more sent"
            ) from None
        except RunAbortedError as error:
            raise HTTPException(502, detail=type(error).__name__) from None
        outcomes: list[dict[str, Any]] = [{} for _ in built]
        for success in result.succeeded:
            outcomes[success.position] = {"status": "created", "id": success.id, "code": None}
        for failure in result.failed:
            status = "unknown" if failure.outcome_unknown else "failed"
            outcomes[failure.position] = {"status": status, "id": None,
                                          "code": str(failure.code)}
        for item, outcome in zip(batch.requests, outcomes, strict=True):
            outcome["key"] = item.key
        unknown = any(o["status"] == "unknown" for o in outcomes)
        body: dict[str, Any] = {"counts": result.counts(), "outcomes": outcomes}
        if unknown:
            body["retry"] = "some outcomes are unknown: POST again with the same Idempotency-Key"
            return JSONResponse(body, status_code=503, headers={"Retry-After": "5"})
        return JSONResponse(body)

    return app


def from_environment() -> FastAPI:
    """``uvicorn --factory examples.api_endpoint:from_environment``: the campaign from
    ``CAMPAIGN_ID``, the AWS account and Region from the usual variables."""
    return create_app(os.environ["CAMPAIGN_ID"], concurrency=4)
