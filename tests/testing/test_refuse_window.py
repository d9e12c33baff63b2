"""FakeCampaigns.refuse_items_for: a window of the fake's clock in which every item is
refused for capacity."""

from __future__ import annotations

import time

from tests.builders import outbounds


def test_items_are_refused_inside_the_window_and_created_after_it(fake_connect):
    fake = fake_connect.fake_campaigns
    now = [time.time()]
    fake.clock = lambda: now[0]
    fake.refuse_items_for(5.0, "BufferLimitExceeded")
    client = fake_connect.outbound_client(max_item_retries=0)
    refused = client.put_requests(outbounds(3))
    assert {f.code for f in refused.failed} == {"BufferLimitExceeded"}
    assert fake_connect.requests == []
    assert [c.outcome for c in fake.calls] == ["refused"]
    now[0] += 5.0
    created = client.put_requests(outbounds(3))
    assert created.all_succeeded
    assert len(fake_connect.requests) == 3
