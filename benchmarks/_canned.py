"""In-process canned answers through botocore's ``before-send`` event.

BatchPutContact (``canned_client``) and outbound campaigns v2 PutOutboundRequestBatch
(``canned_campaigns_client``). botocore still serializes every request and parses every
answer, so both the library and the hand-written baseline pay boto3's full cost; only the
network is left out.
"""

from __future__ import annotations

import json
import os
import uuid
from typing import Any

import boto3
from botocore.awsrequest import AWSResponse

# An id per answer is all the work a fake "service" does here.
_HEADERS = {"Content-Type": "application/json"}


class _Body:
    def __init__(self, data: bytes) -> None:
        self._data = data

    def stream(self, **_: Any) -> Any:
        yield self._data

    def read(self, *_: Any) -> bytes:
        data, self._data = self._data, b""
        return data


def _answer(request: Any, **_: Any) -> AWSResponse:
    body = json.loads(request.body)
    answer = {
        "SuccessfulRequestList": [
            {"RequestIdentifier": item["RequestIdentifier"], "ContactId": str(uuid.uuid4())}
            for item in body["ContactDataRequestList"]
        ],
        "FailedRequestList": [],
    }
    return AWSResponse(request.url, 200, _HEADERS, _Body(json.dumps(answer).encode()))


def _answer_outbound(request: Any, **_: Any) -> AWSResponse:
    body = json.loads(request.body)
    answer = {
        "successfulRequests": [
            {"clientToken": item["clientToken"], "id": str(uuid.uuid4())}
            for item in body["outboundRequests"]
        ],
        "failedRequests": [],
    }
    return AWSResponse(request.url, 200, _HEADERS, _Body(json.dumps(answer).encode()))


def _credentials() -> None:
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")


def canned_client() -> Any:
    """A boto3 Connect client whose BatchPutContact calls are answered in-process."""
    _credentials()
    client = boto3.client("connect", region_name="us-east-1")
    client.meta.events.register("before-send.connect.BatchPutContact", _answer)
    return client


def canned_campaigns_client() -> Any:
    """A boto3 ``connectcampaignsv2`` client whose PutOutboundRequestBatch calls are
    answered in-process: every request succeeds."""
    _credentials()
    client = boto3.client("connectcampaignsv2", region_name="us-east-1")
    client.meta.events.register(
        "before-send.connectcampaignsv2.PutOutboundRequestBatch", _answer_outbound
    )
    return client
