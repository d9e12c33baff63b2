"""One ContactBatchClient shared by threads: each call keeps its own state."""

from __future__ import annotations

import concurrent.futures

from connect_batch.testing import Fault
from tests.builders import contacts

THREADS = 8
PER_THREAD = 60


def test_threads_sharing_a_client_each_get_every_answer_and_no_duplicates(http_connect):
    client = http_connect.batch_client(max_attempts=6)
    http_connect.fake.plan(*([Fault.throttle(), Fault.dropped(), None, Fault.error()] * 4))
    inputs = [contacts(PER_THREAD, start=t * 1000) for t in range(THREADS)]
    with concurrent.futures.ThreadPoolExecutor(THREADS) as pool:
        results = list(pool.map(client.put_contacts, inputs))
    for mine, result in zip(inputs, results, strict=True):
        assert [s.request for s in result.succeeded] == mine
    assert http_connect.duplicates() == {}
    assert len(http_connect.contacts) == THREADS * PER_THREAD


def test_threads_with_a_job_key_each_use_a_key_of_their_own(http_connect):
    client = http_connect.batch_client(max_attempts=6)
    inputs = [contacts(PER_THREAD, start=t * 1000) for t in range(THREADS)]
    with concurrent.futures.ThreadPoolExecutor(THREADS) as pool:
        results = list(
            pool.map(
                lambda t: client.put_contacts(inputs[t], job_key=f"message-{t}"), range(THREADS)
            )
        )
        again = list(
            pool.map(
                lambda t: client.put_contacts(inputs[t], job_key=f"message-{t}"), range(THREADS)
            )
        )
    assert all(r.all_succeeded for r in results)
    assert [[s.contact_id for s in r.succeeded] for r in again] == [
        [s.contact_id for s in r.succeeded] for r in results
    ]
    assert len(http_connect.contacts) == THREADS * PER_THREAD
