"""Choosing the client: the run's API, its options, and boto3 (or ``--simulate``, the
library's double in this process).

Configuration problems become ``UsageError`` before anything is sent. Nothing here reads the
input.
"""

from __future__ import annotations

import argparse
import contextlib
from collections.abc import Callable, Iterator
from typing import Any

from connect_batch import (
    BatchClient,
    ConnectBatchError,
    ContactBatchClient,
    DialRequestBatchClient,
    MissingExtraError,
    OutboundRequestBatchClient,
    RedisRateLimiter,
    fleet_key,
)
from connect_batch.cli.api import Api, UsageError

# The clients' sleep, for back-offs and pacing: None is time.sleep. A test that runs the
# command in its own process sets a function that returns at once (the testing switch,
# as stamina's set_testing): it then waits out no back-off, and everything else is as run.
sleep: Callable[[float], None] | None = None

_OPERATIONS = {
    Api.V2: "PutOutboundRequestBatch", Api.V1: "PutDialRequestBatch",
    Api.CONNECT: "BatchPutContact",
}


def _options(
    args: argparse.Namespace, api: Api, account: Callable[[], str], region: str
) -> dict[str, Any]:
    """The client's options; with --redis-url, a limiter shared through Redis."""
    options: dict[str, Any] = {
        "concurrency": args.concurrency,
        "max_requests_per_second": args.max_rps,
        "max_attempts": args.max_attempts,
    }
    if sleep is not None:
        options["sleep"] = sleep
    if args.redis_url:
        key = args.redis_key or fleet_key(account(), region, _OPERATIONS[api])
        try:
            with MissingExtraError.guard("--redis-url", "redis"):
                options["rate_limiter"] = RedisRateLimiter.from_url(
                    args.redis_url, key=key, rate=args.max_rps
                )
        except ValueError as error:
            raise UsageError(f"--redis-url: {error}") from None
    return options


@contextlib.contextmanager
def _simulated(args: argparse.Namespace, api: Api) -> Iterator[tuple[BatchClient[Any], str]]:
    with MissingExtraError.guard("--simulate", "testing"):
        from connect_batch.testing import (
            DEFAULT_ACCOUNT,
            dummy_credentials,
            mock_connect,
            new_double,
        )

    region = args.region or "us-east-1"
    with dummy_credentials(region), mock_connect():
        double = new_double(region)
        fake = double.fake if api is Api.CONNECT else double.fake_campaigns
        fake.latency = args.simulate_latency
        if args.simulate_rate:
            fake.throttle(rate=args.simulate_rate, burst=args.simulate_burst)
        options = _options(args, api, lambda: DEFAULT_ACCOUNT, region)
        client: BatchClient[Any]
        if api is Api.CONNECT:
            target = double.instance_id
            client = ContactBatchClient(double.client, instance_id=target, **options)
        elif api is Api.V2:
            target = double.campaign_id
            client = OutboundRequestBatchClient(
                double.campaigns, campaign_id=target, **options
            )
        else:
            target = double.v1_campaign_id
            client = DialRequestBatchClient(
                double.campaigns_v1, campaign_id=target, **options
            )
        yield client, target


@contextlib.contextmanager
def connect(args: argparse.Namespace, api: Api) -> Iterator[tuple[BatchClient[Any], str]]:
    """The client of the run's API, and the instance or campaign it puts into."""
    if args.simulate:
        with _simulated(args, api) as simulated:
            yield simulated
        return
    import boto3
    import botocore.exceptions

    try:
        session = boto3.Session(profile_name=args.profile, region_name=args.region)
        url = args.endpoint_url

        def account() -> str:  # for the shared limiter's key: one quota per account
            try:
                identity = session.client("sts", endpoint_url=url).get_caller_identity()
            except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError):
                raise UsageError(
                    "--redis-url: could not read the AWS account (sts:GetCallerIdentity) "
                    "for the limiter's key; give --redis-key"
                ) from None
            return str(identity["Account"])

        client: BatchClient[Any]
        if api is Api.CONNECT:
            target = args.instance_id
            client = ContactBatchClient(
                session.client("connect", endpoint_url=url), instance_id=target,
                **_options(args, api, account, str(session.region_name)),
            )
        elif api is Api.V2:
            target = args.campaign_id
            client = OutboundRequestBatchClient(
                session.client("connectcampaignsv2", endpoint_url=url), campaign_id=target,
                **_options(args, api, account, str(session.region_name)),
            )
        else:
            target = args.campaign_id
            client = DialRequestBatchClient(
                session.client("connectcampaigns", endpoint_url=url), campaign_id=target,
                **_options(args, api, account, str(session.region_name)),
            )
        args.region = args.region or session.region_name  # named in run-stopping errors
        if session.get_credentials() is None:
            raise UsageError(
                "no AWS credentials found (environment variables, --profile, or the "
                "instance's role); nothing was sent"
            )
    except botocore.exceptions.NoRegionError:
        raise UsageError(
            "no AWS Region: give --region (us-east-1, say), set AWS_REGION, or use a "
            "--profile that names one. Nothing was sent"
        ) from None
    except (botocore.exceptions.ProfileNotFound, botocore.exceptions.NoCredentialsError,
            ConnectBatchError) as error:
        raise UsageError(str(error)) from None
    yield client, target
