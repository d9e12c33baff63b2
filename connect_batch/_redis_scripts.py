"""What the sync and async Redis limiters share: the key, the Lua scripts and the steps.

The scripts hold the schedule and the shared pace (see ``RedisRateLimiter``); the steps
(``_Book``, ``_Run``, a float to sleep) are what the limiters' generators yield for a driver
to carry out, in a thread or on an event loop. This module must not talk to Redis.
"""

from __future__ import annotations

from typing import Any

import attrs

from connect_batch._errors import ConfigurationError

KEY_PREFIX = "connect-batch"
# Idle keys vanish: a fleet that stops for this long starts afresh.
KEY_TTL_SECONDS = 3600

# Both scripts: KEYS[1] is the limiter's hash (fields tat, rate, epoch, probed, slow,
# ceiling). Times are microseconds of Redis's clock, kept in Lua doubles (exact below 2**53
# us: the year 2255). A key that is missing (new, expired, deleted, or a restarted server)
# starts at the seed rate the caller sends: its own last view of the shared pace. A key idle
# for longer than IDLE_RESET starts again at the initial rate, forgetting old throttles.
#
# A clock step. TIME is wall-clock time: after an NTP step back, or a failover to a replica
# whose clock is behind, a stored schedule lies in the future, and every process would wait
# out the step (an hour's step: an hour). So each script that reads ``tat`` first asks
# whether the fleet could have booked that far ahead, and if not re-seeds it to now
# (keeping the pace, its epoch and ``probed``) and returns how far ahead it was, for the
# caller to log. How far ahead can the fleet book? Each booking moves ``tat`` one interval
# on, and a limiter holds at most one booked slot at a time (its booking lock, held until
# the slot comes): with P limiters on the key, the slots still to come are at most P, so
# ``tat`` is less than (burst + P) intervals ahead; a throttle's ``feedback`` moves it to
# at most ``burst`` new intervals ahead. Those intervals are the ones of the paces the
# slots were booked at, and the pace may have risen since (each success adds to it, a
# fleet's worth at once after a long wait), so the bound is never counted in the current
# interval but in ``slow``: the longest interval booked since the schedule last caught up
# with the clock (``tat`` <= now: no slot is still to come), never less than the current
# one. The caller sends ``slots`` = burst + 2 * fleet_size: twice the fleet it was told
# of, so that slots given up unused (a wait cut short, a slot found too late for max wait:
# each stays booked for one interval) and a fleet somewhat larger than counted are never
# taken for a step. A legitimately busy fleet is then never re-seeded, and a step is never
# waited out for longer than ``slots * slow``.
#
# ACQUIRE ARGV: seed rate, initial rate, max rate (or -1), burst, max wait (us, or -1),
# key TTL (s), idle reset (us), slots, catch-up (intervals, default 0). A schedule behind
# the clock by less than catch-up intervals is kept, not moved to now: slots that no call
# was ready for (a process that woke late) are made up by the calls after, so the fleet
# keeps its pace on a busy machine; one further behind is an idle spell, and starts afresh
# with the burst. Returns {wait_us, epoch, rate, stepped_us};
# wait_us is -1 when the wait would reach max wait (nothing is booked then); stepped_us is
# how far ahead of Redis's clock a schedule was found and reset (0 if it was not).
ACQUIRE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local state = redis.call('HMGET', KEYS[1], 'tat', 'rate', 'epoch', 'probed', 'slow')
local rate = tonumber(state[2]) or tonumber(ARGV[1])
local epoch = tonumber(state[3]) or 0
local probed = state[4] or '0'
local tat = tonumber(state[1]) or now
if now - tat > tonumber(ARGV[7]) then
  rate = tonumber(ARGV[2])
  probed = '0'
end
local max_rate = tonumber(ARGV[3])
if max_rate > 0 and rate > max_rate then rate = max_rate end
local interval = 1000000 / rate
local slow = tonumber(state[5]) or interval
if tat <= now or slow < interval then slow = interval end
local stepped = 0
if tat - now > tonumber(ARGV[8]) * slow then
  stepped = tat - now
  tat = now
  slow = interval
end
if tat < now - tonumber(ARGV[9] or '0') * interval then tat = now end
local wait = tat - (tonumber(ARGV[4]) - 1) * interval - now
if wait < 0 then wait = 0 end
local max_wait = tonumber(ARGV[5])
if max_wait >= 0 and wait >= max_wait then
  if stepped > 0 then
    redis.call('HSET', KEYS[1], 'tat', string.format('%.0f', tat), 'slow', tostring(slow))
  end
  return {-1, epoch, tostring(rate), string.format('%.0f', stepped)}
end
-- The pace held this call back: a success may grow it (FEEDBACK reads ``held``).
if wait > 0 then redis.call('HSET', KEYS[1], 'held', string.format('%.0f', now)) end
redis.call('HSET', KEYS[1], 'tat', string.format('%.0f', tat + interval),
           'rate', tostring(rate), 'epoch', epoch, 'probed', probed, 'slow', tostring(slow))
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[6]))
return {math.floor(wait), epoch, tostring(rate), string.format('%.0f', stepped)}
"""

# FEEDBACK ARGV: the call's epoch, throttled (1/0), max rate (or -1), min rate, decrease,
# probe step, cruise step, seed rate, key TTL (s), burst, slots (as ACQUIRE's), slow-start
# step and slow-start decrease (by default the probe step and the decrease). Until the
# key's first throttle (``probed`` not '1': the fleet slow-starts once, not once per
# process) a success adds the slow-start step, and that throttle cuts by the slow-start
# decrease; from then on the pace at the last throttle is kept as ``ceiling``, and a
# success adds the probe step below ``decrease`` of it, the cruise step above. In slow start
# (its step above the probe step) a success also pulls the schedule booked ahead in to the
# new pace. A success grows nothing unless ACQUIRE held a call back (``held``) within the
# last second or two intervals: a pace that limits nothing is not raised.
# Returns {known, stepped_us}: known is 1 when a throttle was already known (the call's
# epoch is not the current one: older, or from before the key was reset), else 0;
# stepped_us as ACQUIRE's (only a throttle reads the schedule).
FEEDBACK = """
local state = redis.call('HMGET', KEYS[1], 'rate', 'epoch', 'probed', 'tat', 'slow',
                         'ceiling', 'held')
local rate = tonumber(state[1]) or tonumber(ARGV[8])
local epoch = tonumber(state[2]) or 0
local max_rate = tonumber(ARGV[3])
if ARGV[2] == '0' then
  local t = redis.call('TIME')
  local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
  -- A pace that held no call back lately limits nothing: a success proves nothing about a
  -- faster one, and growing it anyway has no bound (the fleet too few, or too slow).
  local held = tonumber(state[7])
  local window = 2000000 / rate
  if window < 1000000 then window = 1000000 end
  if held == nil or now - held > window then
    redis.call('EXPIRE', KEYS[1], tonumber(ARGV[9]))
    return {0, '0'}
  end
  local step = tonumber(ARGV[12] or ARGV[6])
  if state[3] == '1' then
    local ceiling = tonumber(state[6])
    step = tonumber(ARGV[7])
    if ceiling == nil or rate < ceiling * tonumber(ARGV[5]) then step = tonumber(ARGV[6]) end
  end
  local grown = rate + step
  if max_rate > 0 and grown > max_rate then grown = max_rate end
  local tat = tonumber(state[4])
  if state[3] ~= '1' and tonumber(ARGV[12] or '0') > tonumber(ARGV[6]) and tat then
    -- Slow start: slots booked ahead at the old pace are booked at the new one (the
    -- fleet's calls already waiting keep theirs; the next ones are not held behind them).
    if tat > now then
      tat = now + (tat - now) * rate / grown
      redis.call('HSET', KEYS[1], 'tat', string.format('%.0f', tat))
    end
  end
  rate = grown
  redis.call('HSET', KEYS[1], 'rate', tostring(rate))
  redis.call('EXPIRE', KEYS[1], tonumber(ARGV[9]))
  return {0, '0'}
end
if tonumber(ARGV[1]) ~= epoch then return {1, '0'} end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local tat = tonumber(state[4]) or now
local old_interval = 1000000 / rate
local slow = tonumber(state[5]) or old_interval
if tat <= now or slow < old_interval then slow = old_interval end
local stepped = 0
if tat - now > tonumber(ARGV[11]) * slow then
  stepped = tat - now
  tat = now
  slow = 0
end
local floor = tonumber(ARGV[4])
if max_rate > 0 and max_rate < floor then floor = max_rate end
local ceiling = rate
local cut = tonumber(ARGV[5])
if state[3] ~= '1' then cut = tonumber(ARGV[13] or ARGV[5]) end
rate = rate * cut
if rate < floor then rate = floor end
local interval = 1000000 / rate
if slow < interval then slow = interval end
-- The next call goes one new interval from now at the earliest, whatever the burst.
local next_slot = now + tonumber(ARGV[10]) * interval
if tat < next_slot then tat = next_slot end
redis.call('HSET', KEYS[1], 'rate', tostring(rate), 'epoch', epoch + 1, 'probed', '1',
           'tat', string.format('%.0f', tat), 'slow', tostring(slow),
           'ceiling', tostring(ceiling))
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[9]))
return {0, string.format('%.0f', stepped)}
"""

IDLE_RESET_SECONDS = 60
# A fallback's epochs are negative and carry its generation: -(generation * 2**32 + e) - 1.
_GENERATION = 2**32


def fleet_key(account: str, region: str, operation: str) -> str:
    """The documented key for one quota: ``connect-batch:<account>:<region>:<operation>``.

    The quota of each operation is per account and Region, so every worker that shares it
    should name the same key, and no other quota's.
    """
    for name, value in (("account", account), ("region", region), ("operation", operation)):
        if not value or ":" in value:
            raise ConfigurationError(f"fleet_key: {name} must be non-empty, without ':'")
    return f"{KEY_PREFIX}:{account}:{region}:{operation}"


@attrs.frozen
class _Book:
    """Take this process's booking lock (held until the steps end); ``timeout``: at most
    this long. The result is whether it was taken."""

    timeout: float | None


@attrs.frozen
class _Run:
    """Run the limiter's Lua ``script`` (``"acquire"`` or ``"feedback"``) on its key with
    ``args``; its result."""

    script: str
    args: list[Any]


# A step: a _Book, a _Run, or a float (sleep this long).
_Step = _Book | _Run | float

# A max_wait this long (or a deadline at infinity) is no bound at all.
_UNBOUNDED = 10.0**9
