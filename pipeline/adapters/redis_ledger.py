"""The claim ledger in Redis: the source of truth. Queues only trigger; every step reads and writes here.

Layout (prefix `sb:`); "packed" is `ledger_codec.pack`: a value is small on any Redis, with its defaults:
  claim:{id}            hash: status, route, problems, attempts, last error, the superbill, ...: only values
                        of at most 64 bytes (packed when longer), so that Redis keeps it compact
  claim:{id}:long       hash: the claim's fields that are longer even packed (often none)
  claim:{id}:event      the event the claim is built from (after any amendment), JSON, packed
  claim:{id}:timeline   list, append-only: every step, attempt, peer answer, amendment (JSON, packed)
  claim:{id}:statement  a statement PDF kept by an earlier version (bytes); none is kept today
  claim:{id}:documents  hash: what was sent to the peer per submission (837P, courtesy payload) and its
                        answers, packed
  claim:{id}:payment-key:{key}  hash: a client payment's answer kept under the client's Idempotency-Key
                        (fingerprint, answer, event_version), written with the payment; expires after 24 h
  Written before this layout, and still read: plain JSON values, the superbill in the claim's hash, a
  timeline stream (turned into a list by the claim's next write).
  claims                sorted set of claim ids by creation time
  status:{s}            sorted set of claim ids by the time they reached status s
  active                sorted set of claim ids by the time of their latest timeline entry (any kind); the
                        entries older than a day and an hour are dropped when it is read (`claim_ids_active_since`)
  route:{r}             set of claim ids with route r
  event:{event_id}      the claim id an event created (duplicate detection)
  referral:{number}     set of session ids that use a visit of that VA referral
  refused / refused:{n} refused inbound events, verbatim, with their errors
  refused_body:{sha256}:{status}  the refused event those very bytes made (each kept once)
  seq:*                 counters shared by every worker (control numbers, document numbers)
  deliveries            sorted set of claim ids whose statement e-mail is unfinished, by last change
  deliveries:failed     sorted set of claim ids whose statement e-mail failed, by when
  client:{client_id}    set of the client's claim ids (period statements)
  period:{key}          hash: a period statement's number, issue date, content fingerprint, replaced number
  done:{key}            set once: a monthly statement sent, a monthly run made, ...
  postings              hash: remittance posting key -> the remittance that posted it (each posted once)
  remit:* / remits      remittances (835) as received, and the feed cursor (`redis_remittances`)
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import redis

from pipeline.adapters.dramatiq_queue import WAKE_TOKENS
from pipeline.adapters.ledger_codec import pack, unpack
from pipeline.application.ports import AnswerKept, EventChanged, IngestResult, KeptAnswer, Refused
from schemas.claim import AMENDABLE_STATUSES, RESUBMITTABLE_STATUSES, STATUSES, Claim

_JSON_FIELDS = ("problems", "warnings", "superbill", "peer_reasons", "denial_reasons", "remittance_ids",
                "denied_parts")
_INT_FIELDS = ("attempts", "submission_no", "control_number", "statement_sends", "remitted_submission_no")
_FLOAT_FIELDS = ("created_at", "updated_at", "status_changed_at", "submitted_at", "prepared_at", "amended_at",
                 "statement_sent_at", "timely_filing_alerted_at")
_DELIVERY_UNFINISHED = ("queued", "sending", "committing", "retrying")
ACTIVE_KEEP_S = 25 * 3600  # the `active` index serves the last 24 hours

# Shared by the scripts that write a claim. `apply` stores the fields encoded by `_field_args`, from ARGV[a]
# on: the short ones in the claim hash, the long ones in its `:long` hash, removing each from the other, and
# deletes the ones named; it returns the index of the first ARGV after them. `append` adds a timeline entry,
# first turning a timeline kept as a stream (the layout before lists) into a list.
_FUNCTIONS = """
local function apply(claim, long, a)
  local nshort, nlong, ngone = tonumber(ARGV[a]), tonumber(ARGV[a + 1]), tonumber(ARGV[a + 2])
  local has_long = redis.call('EXISTS', long) == 1
  local i = a + 3
  for _ = 1, nshort do
    redis.call('HSET', claim, ARGV[i], ARGV[i + 1])
    if has_long then redis.call('HDEL', long, ARGV[i]) end
    i = i + 2
  end
  for _ = 1, nlong do
    redis.call('HSET', long, ARGV[i], ARGV[i + 1])
    redis.call('HDEL', claim, ARGV[i])
    i = i + 2
  end
  has_long = has_long or nlong > 0
  for _ = 1, ngone do
    redis.call('HDEL', claim, ARGV[i])
    if has_long then redis.call('HDEL', long, ARGV[i]) end
    i = i + 1
  end
  return i
end
local function append(timeline, entry)
  if redis.call('TYPE', timeline)['ok'] == 'stream' then
    local rows = redis.call('XRANGE', timeline, '-', '+')
    redis.call('DEL', timeline)
    for _, row in ipairs(rows) do redis.call('RPUSH', timeline, row[2][2]) end
  end
  redis.call('RPUSH', timeline, entry)
end
"""

# A token on a queue's wake list, for an idle consumer, the list kept to the step sender's bound (`WAKE_TOKENS`);
# used by the scripts that queue a claim's next step.
_WAKE = f"""
local function wake(list)
  redis.call('LPUSH', list, '1')
  redis.call('LTRIM', list, 0, {WAKE_TOKENS - 1})
end
"""

# Compare-and-set of a claim's status, its fields, its indexes and a timeline entry, in one step.
# KEYS: claim, timeline, long fields, then (with the next step's message) its queue, the queue's messages and
# the queue's wake list; ARGV: expected statuses, new status, now, timeline entry, prefix, message id, message,
# the client's set of claims to add the claim to (or ''), the unfinished deliveries to queue the claim's
# statement e-mail in when it has no delivery yet (or ''), the fields (`apply`).
_CAS = """
local claim, timeline, long = KEYS[1], KEYS[2], KEYS[3]
local expected, new_status, now, entry, prefix = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local cur = redis.call('HGET', claim, 'status')
if not cur then return {0, ''} end
local ok = (expected == '*')
for s in string.gmatch(expected, '[^,]+') do if s == cur then ok = true end end
if not ok then return {0, cur} end
local id = redis.call('HGET', claim, 'claim_id')
local old_route = redis.call('HGET', claim, 'route')
apply(claim, long, 10)
if ARGV[8] ~= '' then redis.call('SADD', ARGV[8], id) end
if ARGV[9] ~= '' and (redis.call('HGET', claim, 'statement_delivery') or '') == '' then
  redis.call('HSET', claim, 'statement_delivery', 'queued', 'statement_sends', 1)
  redis.call('ZADD', ARGV[9], now, id)
end
redis.call('HINCRBY', claim, 'version', 1)
redis.call('HSET', claim, 'updated_at', now)
if new_status ~= '' and new_status ~= cur then
  redis.call('HSET', claim, 'status', new_status, 'status_changed_at', now)
  redis.call('ZREM', prefix .. 'status:' .. cur, id)
  redis.call('ZADD', prefix .. 'status:' .. new_status, now, id)
end
local new_route = redis.call('HGET', claim, 'route')
if old_route ~= new_route then
  if old_route then redis.call('SREM', prefix .. 'route:' .. old_route, id) end
  if new_route then redis.call('SADD', prefix .. 'route:' .. new_route, id) end
end
if entry ~= '' then
  append(timeline, entry)
  redis.call('ZADD', prefix .. 'active', now, id)
end
"""

_TRANSITION = _FUNCTIONS + _WAKE + _CAS + """
if #KEYS >= 5 then  -- the next step's message, queued with the move (the step sender's layout)
  redis.call('HSET', KEYS[5], ARGV[6], ARGV[7])
  redis.call('RPUSH', KEYS[4], ARGV[6])
  if KEYS[6] then wake(KEYS[6]) end  -- wake a consumer
  return {1, cur, 1}
end
return {1, cur, 0}
"""

# An amendment: what `_TRANSITION` writes (the claim's indexed fields, `amended_at`, a timeline entry) and the
# claim's event, in one step, and only onto the version of the event the amendment was made from (ARGV[6], as
# `ops.event_version` writes it: `0` before any amendment, else `amended_at` to the microsecond; '' for any).
# The new version always differs from the one it replaces, whatever the clocks of the writers.
# KEYS: claim, timeline, long fields, the claim's event; ARGV as `_TRANSITION` with the version and the amended
# event (packed) in place of the message. {0, 'changed:<version>'} when the event is at another version.
_AT_VERSION = """
local function version(at)
  local t = tonumber(at or '0') or 0
  if t == 0 then return '0', 0 end
  return string.format('%.6f', t), t
end
local was, was_at = version(redis.call('HGET', KEYS[1], 'amended_at'))
if ARGV[6] ~= '' and ARGV[6] ~= was then return {0, 'changed:' .. was} end
"""
_AMEND = _FUNCTIONS + _AT_VERSION + _CAS + """
redis.call('SET', KEYS[4], ARGV[7])
local now_version, now_at = version(redis.call('HGET', KEYS[1], 'amended_at'))
if now_version == was or now_at < was_at then
  redis.call('HSET', KEYS[1], 'amended_at', string.format('%.6f', was_at + 0.000002))
end
return {1, cur, (version(redis.call('HGET', KEYS[1], 'amended_at')))}
"""

# A client's payment recorded after the visit: `_AMEND` (the claim's fields, its event, a new event version, a
# timeline entry, only onto the version the payment was made from) and, in the same step, the statement's
# delivery: `queue` starts a new one (`queued`, one more send, indexed as unfinished, and the step's message
# queued), `skip` marks it `skipped` (the client is not e-mailed), '' leaves it. KEYS: as `_AMEND`, then the
# unfinished and failed deliveries, then (with the step's message) its queue, its messages and its wake list;
# ARGV: as `_AMEND`, then after the fields the delivery mode, the message id and the message, then the key the
# answer is kept under for a client's `Idempotency-Key` ('' for none), the request's fingerprint, the answer and
# how long it is kept (seconds). With a key already kept, nothing is written: {0, 'kept'}.
_KEPT_ANSWER = """
local kept_at = 16 + 2 * tonumber(ARGV[10]) + 2 * tonumber(ARGV[11]) + tonumber(ARGV[12])
local kept = ARGV[kept_at]
if kept ~= '' and redis.call('EXISTS', kept) == 1 then return {0, 'kept'} end
"""
_PAYMENT = _FUNCTIONS + _WAKE + _KEPT_ANSWER + _AT_VERSION + _CAS + """
redis.call('SET', KEYS[4], ARGV[7])
local now_version, now_at = version(redis.call('HGET', KEYS[1], 'amended_at'))
if now_version == was or now_at < was_at then
  redis.call('HSET', KEYS[1], 'amended_at', string.format('%.6f', was_at + 0.000002))
end
local j = 13 + 2 * tonumber(ARGV[10]) + 2 * tonumber(ARGV[11]) + tonumber(ARGV[12])
local mode, queued = ARGV[j], 0
if mode == 'queue' then
  local sends = tonumber(redis.call('HGET', claim, 'statement_sends') or '0') or 0
  if sends < 1 then sends = 1 end
  redis.call('HSET', claim, 'statement_delivery', 'queued', 'statement_sends', sends + 1)
  redis.call('HDEL', claim, 'statement_error')
  redis.call('ZADD', KEYS[5], now, id)
  redis.call('ZREM', KEYS[6], id)
  if #KEYS >= 8 then
    redis.call('HSET', KEYS[8], ARGV[j + 1], ARGV[j + 2])
    redis.call('RPUSH', KEYS[7], ARGV[j + 1])
    if KEYS[9] then wake(KEYS[9]) end
    queued = 1
  end
elseif mode == 'skip' then
  redis.call('HSET', claim, 'statement_delivery', 'skipped')
  redis.call('HDEL', claim, 'statement_error')
  redis.call('ZREM', KEYS[5], id)
  redis.call('ZREM', KEYS[6], id)
end
local written = (version(redis.call('HGET', KEYS[1], 'amended_at')))
if kept ~= '' then
  redis.call('HSET', kept, 'fingerprint', ARGV[kept_at + 1], 'answer', ARGV[kept_at + 2], 'event_version', written)
  redis.call('EXPIRE', kept, tonumber(ARGV[kept_at + 3]))
end
return {1, cur, written, queued}
"""

# `_TRANSITION` (without a message to queue) only while the claim's event is at the version ARGV[6] (`_AMEND`).
_TRANSITION_AT = _FUNCTIONS + _AT_VERSION + _CAS + """
return {1, cur, 0}
"""

# A remittance posting, at most once per posting key: the key names the remittance that posted it.
# KEYS: claim, timeline, long fields, postings; ARGV as `_TRANSITION` with the posting key and the remittance
# id in place of the message.
_POST_ONCE = _FUNCTIONS + """
local who = redis.call('HGET', KEYS[4], ARGV[6])
if who then return {0, 'posted:' .. who} end
""" + _CAS + """
redis.call('HSET', KEYS[4], ARGV[6], ARGV[7])
return {1, cur, 0}
"""

# A failed attempt at a peer: counted, its error kept, a timeline entry. KEYS: claim, timeline, long fields,
# active claims; ARGV: now, timeline entry, the fields (`apply`).
_ATTEMPT = _FUNCTIONS + """
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HINCRBY', KEYS[1], 'attempts', 1)
apply(KEYS[1], KEYS[3], 3)
redis.call('HSET', KEYS[1], 'updated_at', ARGV[1])
append(KEYS[2], ARGV[2])
redis.call('ZADD', KEYS[4], ARGV[1], redis.call('HGET', KEYS[1], 'claim_id'))
return 1
"""

# A new event: a claim, a duplicate, or a different event for a session that already has a claim.
# KEYS: the event's key, claim, timeline, the claim's event, claims, long fields, then (with the first step's
# message) its queue, the queue's messages and its wake list; ARGV: claim id, now, timeline entry, the event
# (packed), prefix, the entry of a different event, message id, message, the fields (`apply`).
_INGEST = _FUNCTIONS + _WAKE + """
local event_key, claim, timeline, event_doc_key, claims = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local claim_id, now, entry, event_doc, prefix, other_entry = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6]
local existing = redis.call('GET', event_key)
if existing then return {'duplicate', existing} end
redis.call('SET', event_key, claim_id)
if redis.call('EXISTS', claim) == 1 then
  append(timeline, other_entry)
  redis.call('ZADD', prefix .. 'active', now, claim_id)
  redis.call('HSET', claim, 'updated_at', now)
  return {'kept_for_review', claim_id}
end
apply(claim, KEYS[6], 9)
redis.call('SET', event_doc_key, event_doc)
redis.call('ZADD', claims, now, claim_id)
redis.call('ZADD', prefix .. 'status:received', now, claim_id)
append(timeline, entry)
redis.call('ZADD', prefix .. 'active', now, claim_id)
if #KEYS >= 8 then  -- the first step's message, queued with the claim (the step sender's layout)
  redis.call('HSET', KEYS[8], ARGV[7], ARGV[8])
  redis.call('RPUSH', KEYS[7], ARGV[7])
  if KEYS[9] then wake(KEYS[9]) end  -- wake a consumer
  return {'created', claim_id, 1}
end
return {'created', claim_id, 0}
"""

# One visit of a VA referral per session; the same session never counts twice.
_RESERVE_VISIT = """
local used = redis.call('SCARD', KEYS[1])
if redis.call('SISMEMBER', KEYS[1], ARGV[1]) == 1 then return {1, used - 1} end
if used < tonumber(ARGV[2]) then
  redis.call('SADD', KEYS[1], ARGV[1])
  return {1, used}
end
return {0, used}
"""

# Compare-and-set of a claim's statement delivery (not its status), with the index of unfinished ones.
# KEYS: claim, timeline, unfinished deliveries, failed deliveries, long fields, active claims; ARGV: expected
# states, new state, now, timeline entry (or ''), the unfinished states, the fields (`apply`).
_DELIVERY = _FUNCTIONS + """
local claim, timeline, pending, failed = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local expected, new_state, now, entry, unfinished = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5]
if redis.call('EXISTS', claim) == 0 then return 0 end
local cur = redis.call('HGET', claim, 'statement_delivery') or ''
if not string.find(expected, ',' .. cur .. ',', 1, true) then return 0 end
apply(claim, KEYS[5], 6)
redis.call('HSET', claim, 'statement_delivery', new_state, 'updated_at', now)
local id = redis.call('HGET', claim, 'claim_id')
if string.find(unfinished, ',' .. new_state .. ',', 1, true) then
  redis.call('ZADD', pending, now, id)
else
  redis.call('ZREM', pending, id)
end
if new_state == 'failed' then redis.call('ZADD', failed, now, id) else redis.call('ZREM', failed, id) end
if entry ~= '' then
  append(timeline, entry)
  redis.call('ZADD', KEYS[6], now, id)
end
return 1
"""

# A period statement's number: the same while its content is the same, a new one (replacing it) otherwise.
_PERIOD = """
local key, seq = KEYS[1], KEYS[2]
local fingerprint, issued_on = ARGV[1], ARGV[2]
local cur = redis.call('HMGET', key, 'number', 'issued_on', 'fingerprint', 'replaces')
if cur[1] and cur[3] == fingerprint then return {cur[1], cur[2], cur[4] or ''} end
local n = redis.call('INCR', seq)
redis.call('HSET', key, 'number', n, 'issued_on', issued_on, 'fingerprint', fingerprint, 'replaces', cur[1] or '')
return {tostring(n), issued_on, cur[1] or ''}
"""

_RENEW_LEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0
"""

_RELEASE_LEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


class _LeaseRenewer:
    """One thread per process that renews every lease the process holds, each every third of its time to live:
    a step that ends before its first renewal costs no renewal and no thread of its own. Started at the first
    lease (`renewer`), again in a forked child."""

    def __init__(self) -> None:
        # token -> (the ledger's renewal script, lease key, ttl ms, when to renew next)
        self._held: dict[str, tuple[Callable[..., Any], str, int, float]] = {}
        self._changed = threading.Condition()
        threading.Thread(target=self._run, name="lease-renewer", daemon=True).start()

    def hold(self, renew: Callable[..., Any], key: str, token: str, ttl_ms: int) -> None:
        with self._changed:
            self._held[token] = (renew, key, ttl_ms, time.monotonic() + ttl_ms / 3000)
            self._changed.notify()

    def drop(self, token: str) -> None:
        with self._changed:
            self._held.pop(token, None)

    def _run(self) -> None:
        while True:
            with self._changed:
                now = time.monotonic()
                due = [(token, renew, key, ttl) for token, (renew, key, ttl, at) in self._held.items() if at <= now]
                for token, renew, key, ttl in due:
                    self._held[token] = (renew, key, ttl, now + ttl / 3000)
                if not due:
                    nearest = min((at for *_, at in self._held.values()), default=now + 60)
                    self._changed.wait(max(nearest - now, 0.001))
                    continue
            for token, renew, key, ttl in due:  # outside the lock: a lease let go meanwhile no longer has its token
                try:
                    renew(keys=[key], args=[token, ttl])
                except redis.RedisError:  # the next renewal tries again; the lease may run out meanwhile
                    continue


_renewer: _LeaseRenewer | None = None
_renewer_lock = threading.Lock()


def renewer() -> _LeaseRenewer:
    """The process's lease renewer."""
    global _renewer
    with _renewer_lock:
        if _renewer is None:
            _renewer = _LeaseRenewer()
        return _renewer


def _forget_renewer() -> None:  # a forked child has none of its parent's threads
    global _renewer
    _renewer = None


os.register_at_fork(after_in_child=_forget_renewer)


# What queueing a step writes to Redis: (queue list key, queue messages key, the queue's wake list key, message id,
# encoded message).
Outbox = Callable[[str, str], tuple[str, str, str, str, str]]


class Ledger:
    """The `ClaimLedger` port on Redis.

    With an `outbox` (the step sender's own encoding of a message, `dramatiq_queue.outbox_entry`), a new
    claim's first step is queued by the same script that records the claim: one round trip (one fsync of
    the append-only file) per event instead of two, and never a claim without its message.
    """

    def __init__(self, client: redis.Redis, *, prefix: str = "sb:", wait_replicas: int = 0,
                 wait_timeout_ms: int = 2_000, outbox: Outbox | None = None) -> None:
        self.r = client
        self.outbox = outbox
        self.prefix = prefix
        # With replicas (a Sentinel set), an event counts as taken only once this many replicas hold it:
        # a failover right after the webhook's 202 then cannot lose it.
        self.wait_replicas = wait_replicas
        self.wait_timeout_ms = wait_timeout_ms
        self._transition = client.register_script(_TRANSITION)
        self._post_once = client.register_script(_POST_ONCE)
        self._amend = client.register_script(_AMEND)
        self._payment = client.register_script(_PAYMENT)
        self._transition_at = client.register_script(_TRANSITION_AT)
        self._attempt = client.register_script(_ATTEMPT)
        self._ingest = client.register_script(_INGEST)
        self._reserve = client.register_script(_RESERVE_VISIT)
        self._release_lease = client.register_script(_RELEASE_LEASE)
        self._renew_lease = client.register_script(_RENEW_LEASE)
        self._delivery = client.register_script(_DELIVERY)
        self._period = client.register_script(_PERIOD)

    # keys ------------------------------------------------------------------------------------------
    def _k(self, *parts: str) -> str:
        return self.prefix + ":".join(parts)

    def claim_key(self, claim_id: str) -> str:
        return self._k("claim", claim_id)

    def timeline_key(self, claim_id: str) -> str:
        return self._k("claim", claim_id, "timeline")

    def long_key(self, claim_id: str) -> str:
        """The claim's fields too long for its compact hash (see `_field_args`)."""
        return self._k("claim", claim_id, "long")

    # ingest ----------------------------------------------------------------------------------------
    def ingest(self, *, claim_id: str, event_id: str, session_id: str, event_doc: dict[str, Any],
               index: dict[str, str], now: float | None = None, first_step: str | None = None) -> IngestResult:
        now = time.time() if now is None else now
        fields = {
            "claim_id": claim_id, "session_id": session_id, "event_id": event_id, "status": "received",
            "submission_no": "1", "attempts": "0", "created_at": repr(now), "updated_at": repr(now),
            "status_changed_at": repr(now), "version": "0", **index,
        }
        entry = _entry("received", now, event_id=event_id, to="received")
        other = _entry("event.kept_for_review", now, event_id=event_id,
                       note="a different event for a session that already has a claim; not applied",
                       event=event_doc)
        keys = [self._k("event", event_id), self.claim_key(claim_id), self.timeline_key(claim_id),
                self._k("claim", claim_id, "event"), self._k("claims"), self.long_key(claim_id)]
        args: list[Any] = [claim_id, repr(now), entry, pack(_compact(event_doc)), self.prefix, other, "", ""]
        if first_step and self.outbox is not None:
            queue_key, messages_key, wake_key, message_id, message = self.outbox(first_step, claim_id)
            keys += [queue_key, messages_key, wake_key]
            args[6:8] = [message_id, message]
        outcome, cid, *queued = self._ingest(keys=keys, args=args + _field_args(fields))
        self._replicated()
        return IngestResult(outcome=_s(outcome), claim_id=_s(cid), queued=bool(queued and int(queued[0])))

    def _replicated(self) -> None:
        if self.wait_replicas <= 0:
            return
        acked = int(self.r.wait(self.wait_replicas, self.wait_timeout_ms))
        if acked < self.wait_replicas:
            raise redis.ConnectionError(
                f"only {acked} of {self.wait_replicas} Redis replicas confirmed the write in time")

    # reading ---------------------------------------------------------------------------------------
    def get(self, claim_id: str) -> Claim | None:
        found = self.get_many([claim_id])
        return found[0] if found else None

    def get_many(self, claim_ids: Iterable[str]) -> list[Claim]:
        ids = list(claim_ids)
        pipe = self.r.pipeline(transaction=False)
        for cid in ids:
            pipe.hgetall(self.claim_key(cid))
            pipe.hgetall(self.long_key(cid))
        found = pipe.execute()
        return [_claim(raw, long) for raw, long in zip(found[::2], found[1::2], strict=True) if raw]

    def dates_of_service(self, claim_ids: list[str]) -> dict[str, str]:
        pipe = self.r.pipeline(transaction=False)
        for cid in claim_ids:
            pipe.hget(self.claim_key(cid), "date_of_service")
        return {cid: _s(unpack(raw)) for cid, raw in zip(claim_ids, pipe.execute(), strict=True) if raw}

    def get_with_event(self, claim_id: str) -> tuple[Claim | None, dict[str, Any] | None]:
        pipe = self.r.pipeline(transaction=False)
        self._read_with_event(pipe, claim_id)
        return self._parse_with_event(*pipe.execute())

    def _read_with_event(self, pipe: Any, claim_id: str) -> None:
        pipe.hgetall(self.claim_key(claim_id))
        pipe.hgetall(self.long_key(claim_id))
        pipe.get(self._k("claim", claim_id, "event"))

    @staticmethod
    def _parse_with_event(raw: dict[bytes, bytes], long: dict[bytes, bytes],
                          event: bytes | None) -> tuple[Claim | None, dict[str, Any] | None]:
        return (_claim(raw, long) if raw else None), (_event(event) if event is not None else None)

    def event_document(self, claim_id: str) -> dict[str, Any]:
        raw = self.r.get(self._k("claim", claim_id, "event"))
        if raw is None:
            raise KeyError(claim_id)
        return _event(raw)

    def event_documents(self, claim_ids: list[str]) -> dict[str, dict[str, Any]]:
        pipe = self.r.pipeline(transaction=False)
        for cid in claim_ids:
            pipe.get(self._k("claim", cid, "event"))
        return {cid: _event(raw) for cid, raw in zip(claim_ids, pipe.execute(), strict=True) if raw is not None}

    def keep_document(self, claim_id: str, name: str, text: str) -> None:
        self.r.hset(self._k("claim", claim_id, "documents"), name, pack(text))

    def documents(self, claim_id: str) -> dict[str, str]:
        return {_s(k): unpack(v) for k, v in self.r.hgetall(self._k("claim", claim_id, "documents")).items()}

    def timelines_since(self, claim_ids: list[str], since: float) -> dict[str, list[dict[str, Any]]]:
        return {cid: [e for e in entries if e["at"] >= since]
                for cid, entries in self._timelines(claim_ids).items()}

    def timeline(self, claim_id: str) -> list[dict[str, Any]]:
        return self._timelines([claim_id])[claim_id]

    def _timelines(self, claim_ids: list[str]) -> dict[str, list[dict[str, Any]]]:
        """Each claim's timeline, oldest first: a list, or a stream as kept before lists (turned into a
        list by the claim's next write)."""
        pipe = self.r.pipeline(transaction=False)
        for cid in claim_ids:
            pipe.lrange(self.timeline_key(cid), 0, -1)
        found = pipe.execute(raise_on_error=False)
        out: dict[str, list[dict[str, Any]]] = {}
        for cid, rows in zip(claim_ids, found, strict=True):
            if isinstance(rows, redis.ResponseError):  # WRONGTYPE: a stream
                out[cid] = [json.loads(fields[b"entry"]) for _, fields in self.r.xrange(self.timeline_key(cid))]
            else:
                out[cid] = [json.loads(unpack(row)) for row in rows]
        return out

    def claim_ids(self, *, status: str | None = None, route: str | None = None) -> list[str]:
        if status:
            ids = [_s(x) for x in self.r.zrange(self._k("status", status), 0, -1)]
        else:
            ids = [_s(x) for x in self.r.zrange(self._k("claims"), 0, -1)]
        if route:
            members = {_s(x) for x in self.r.smembers(self._k("route", route))}
            ids = [i for i in ids if i in members]
        return ids

    def _after(self, key: str, after: tuple[float, str] | None, count: int) -> list[tuple[str, float]]:
        """Up to `count` members of a sorted set after (score, member), in the set's order."""
        low: float | str = after[0] if after else "-inf"
        found: list[tuple[str, float]] = []
        offset = 0
        while len(found) < count:
            batch = self.r.zrangebyscore(key, low, "+inf", start=offset, num=count + 16, withscores=True)
            if not batch:
                break
            offset += len(batch)
            last = len(batch) < count + 16
            found += [(m, s) for m, s in ((_s(m), float(s)) for m, s in batch)
                      if after is None or (s, m) > after]
            if last:
                break
        return found[:count]

    def claim_ids_after(self, *, status: str | None = None, after: tuple[float, str] | None = None,
                        count: int = 100) -> list[tuple[str, float]]:
        return self._after(self._k("status", status) if status else self._k("claims"), after, count)

    def refused_ids_after(self, *, after: tuple[float, str] | None = None,
                          count: int = 100) -> list[tuple[str, float]]:
        return self._after(self._k("refused"), after, count)

    def count_by_status(self) -> dict[str, int]:
        pipe = self.r.pipeline(transaction=False)
        for s in STATUSES:
            pipe.zcard(self._k("status", s))
        return dict(zip(STATUSES, pipe.execute(), strict=True))

    def count_by_route(self) -> dict[str, int]:
        routes = ("direct_billing", "courtesy_submission", "statement_only", "needs_attention")
        pipe = self.r.pipeline(transaction=False)
        for r in routes:
            pipe.scard(self._k("route", r))
        return dict(zip(routes, pipe.execute(), strict=True))

    def stale_claims(self, *, older_than: float, statuses: Iterable[str]) -> list[str]:
        ids: list[str] = []
        for s in statuses:
            ids += [_s(x) for x in self.r.zrangebyscore(self._k("status", s), 0, older_than)]
        return ids

    def claim_ids_since(self, since: float, *, statuses: Iterable[str]) -> list[str]:
        pipe = self.r.pipeline(transaction=False)
        for s in statuses:
            pipe.zrangebyscore(self._k("status", s), since, "+inf")
        return [_s(x) for found in pipe.execute() for x in found]

    def claim_ids_active_since(self, since: float) -> list[str]:
        """The claims with a timeline entry (any kind: an amendment, a note, a step) since `since`, a day
        at the most; older entries of the index are dropped here."""
        self.r.zremrangebyscore(self._k("active"), "-inf", f"({time.time() - ACTIVE_KEEP_S}")
        return [_s(x) for x in self.r.zrangebyscore(self._k("active"), since, "+inf")]

    # writing ---------------------------------------------------------------------------------------
    def transition(self, claim_id: str, expected: str | Iterable[str], to: str | None, *, kind: str,
                   fields: dict[str, Any] | None = None, now: float | None = None, based_on: str | None = None,
                   **detail: Any) -> bool:
        """Move the claim to `to` if it is in one of `expected` ("*" for any); False (and nothing changes)
        otherwise. `fields` are stored with it (None deletes); a timeline entry records the step. With `based_on`
        (an `ops.event_version`), only while the claim's event is at that version, in the same atomic step:
        `EventChanged` (nothing changes) otherwise."""
        now = time.time() if now is None else now
        exp = expected if isinstance(expected, str) else ",".join(expected)
        entry = _entry(kind, now, to=to, **detail)
        script = self._transition if based_on is None else self._transition_at
        ok, seen, *_ = script(
            keys=[self.claim_key(claim_id), self.timeline_key(claim_id), self.long_key(claim_id)],
            args=[exp, to or "", repr(now), entry, self.prefix, based_on or "", "", "", "",
                  *_field_args(fields or {})],
        )
        if not ok and _s(seen).startswith("changed:"):
            raise EventChanged(claim_id, based_on or "", _s(seen).removeprefix("changed:"))
        return bool(ok)

    def advance(self, claim_id: str, expected: str | Iterable[str], to: str, *, then: str, kind: str,
                fields: dict[str, Any] | None = None, client_id: str | None = None,
                queue_delivery: bool = False, now: float | None = None, **detail: Any) -> tuple[bool, bool]:
        """`transition`, and with an outbox the step `then` queued by the same script: (moved, queued).
        Without an outbox nothing is queued and the caller sends the step. With the move, in the same script:
        `client_id` adds the claim to its client's claims (`client_claims`), `queue_delivery` queues the claim's
        statement e-mail (`statement_delivery` `queued`, its first send) unless it has a delivery already."""
        now = time.time() if now is None else now
        exp = expected if isinstance(expected, str) else ",".join(expected)
        keys = [self.claim_key(claim_id), self.timeline_key(claim_id), self.long_key(claim_id)]
        args: list[Any] = [exp, to, repr(now), _entry(kind, now, to=to, **detail), self.prefix, "", "",
                           self._k("client", client_id) if client_id else "",
                           self._k("deliveries") if queue_delivery else ""]
        if self.outbox is not None:
            queue_key, messages_key, wake_key, message_id, message = self.outbox(then, claim_id)
            keys += [queue_key, messages_key, wake_key]
            args[5:7] = [message_id, message]
        ok, _, *queued = self._transition(keys=keys, args=args + _field_args(fields or {}))
        return bool(ok), bool(ok and queued and int(queued[0]))

    def post_once(self, claim_id: str, posting_key: str, remittance_id: str, expected: Iterable[str], to: str, *,
                  kind: str, fields: dict[str, Any], **detail: Any) -> tuple[bool, str]:
        """A remittance's decision applied to the claim at most once per `posting_key`, atomically with the
        status change: (True, previous status), or (False, `posted:<remittance id>` when that key was posted
        before, else the claim's status, or '' when there is no such claim)."""
        now = time.time()
        entry = _entry(kind, now, to=to, remittance_id=remittance_id, **detail)
        ok, seen, *_ = self._post_once(
            keys=[self.claim_key(claim_id), self.timeline_key(claim_id), self.long_key(claim_id),
                  self._k("postings")],
            args=[",".join(expected), to, repr(now), entry, self.prefix, posting_key, remittance_id, "", "",
                  *_field_args(fields)],
        )
        return bool(ok), _s(seen)

    def posted_by(self, posting_key: str) -> str | None:
        value = self.r.hget(self._k("postings"), posting_key)
        return _s(value) if value is not None else None

    def note(self, claim_id: str, kind: str, **detail: Any) -> None:
        """A timeline entry without a status change."""
        self.transition(claim_id, "*", None, kind=kind, **detail)

    def record_attempt(self, claim_id: str, *, error: str, peer: str) -> None:
        now = time.time()
        self._attempt(keys=[self.claim_key(claim_id), self.timeline_key(claim_id), self.long_key(claim_id),
                            self._k("active")],
                      args=[repr(now), _entry("attempt.failed", now, peer=peer, error=error),
                            *_field_args({"last_error": error})])

    def replace_event(self, claim_id: str, event_doc: dict[str, Any], *, index: dict[str, str],
                      changed: list[str], source: str, by: str | None = None,
                      statuses: Iterable[str] = AMENDABLE_STATUSES, based_on: str | None = None,
                      applied_event: str | None = None) -> str | None:
        """An amendment: only for claims that are not on their way to, or at, a peer (or, for a correction
        about to be sent, in one of `statuses`), and with `based_on` only while the claim's event is at that
        version (`EventChanged` otherwise). The claim's fields, its timeline entry and its event are written in
        one atomic step, or nothing is. Returns the event version written (None: the claim's status does not
        take an amendment)."""
        now = time.time()
        entry = _entry("amended", now, changed=changed, source=source, by=by, applied_event=applied_event)
        ok, seen, *written = self._amend(
            keys=[self.claim_key(claim_id), self.timeline_key(claim_id), self.long_key(claim_id),
                  self._k("claim", claim_id, "event")],
            args=[",".join(sorted(statuses)), "", repr(now), entry, self.prefix, based_on or "",
                  pack(_compact(event_doc)), "", "", *_field_args({**index, "amended_at": now})],
        )
        if not ok and _s(seen).startswith("changed:"):
            raise EventChanged(claim_id, based_on or "", _s(seen).removeprefix("changed:"))
        return _s(written[0]) if ok else None

    def record_payment(self, claim_id: str, event_doc: dict[str, Any], *, statuses: Iterable[str], based_on: str,
                       fields: dict[str, Any], delivery: str, then: str | None,
                       kept: KeptAnswer | None = None, **detail: Any) -> tuple[str | None, bool]:
        """A client's payment: the claim's `fields`, its amended event and a `payment.recorded` timeline entry
        (`detail`), only while it is in one of `statuses` and its event at version `based_on` (`EventChanged`
        otherwise), and in the same atomic step its statement delivery (`delivery`: `queue` a new one, with
        the step `then` queued when there is an outbox; `skip` it; '' leave it) and, with `kept`, its answer
        under the client's idempotency key (`AnswerKept`, nothing written, when the key is already kept).
        Returns (the event version written, or None when the claim's status takes no payment; whether the step
        was queued)."""
        now = time.time()
        keys = [self.claim_key(claim_id), self.timeline_key(claim_id), self.long_key(claim_id),
                self._k("claim", claim_id, "event"), self._k("deliveries"), self._k("deliveries", "failed")]
        message_id, message = "", ""
        if delivery == "queue" and then is not None and self.outbox is not None:
            queue_key, messages_key, wake_key, message_id, message = self.outbox(then, claim_id)
            keys += [queue_key, messages_key, wake_key]
        ok, seen, *written = self._payment(
            keys=keys,
            args=[",".join(sorted(statuses)), "", repr(now), _entry("payment.recorded", now, **detail), self.prefix,
                  based_on, pack(_compact(event_doc)), "", "", *_field_args({**fields, "amended_at": now}),
                  delivery, message_id, message,
                  *((self._kept_key(claim_id, kept.key), kept.fingerprint, kept.answer, kept.ttl_seconds)
                    if kept is not None else ("", "", "", 0))],
        )
        if not ok and _s(seen) == "kept":
            raise AnswerKept(claim_id)
        if not ok and _s(seen).startswith("changed:"):
            raise EventChanged(claim_id, based_on, _s(seen).removeprefix("changed:"))
        if not ok:
            return None, False
        return _s(written[0]), bool(int(written[1]))

    def _kept_key(self, claim_id: str, key: str) -> str:
        return self._k("claim", claim_id, "payment-key", key)

    def kept_payment(self, claim_id: str, key: str) -> KeptAnswer | None:
        """The answer kept under a client's idempotency key for a payment on this claim (None: none, or
        expired), with the event version the payment wrote."""
        got = {_s(k): _s(v) for k, v in self.r.hgetall(self._kept_key(claim_id, key)).items()}
        if "fingerprint" not in got:
            return None
        return KeptAnswer(key, got["fingerprint"], got.get("answer", ""), 0, got.get("event_version", ""))

    def resubmit(self, claim_id: str, *, source: str, by: str | None = None, anyway: bool = False,
                 frequency_code: str = "1", statuses: Iterable[str] = RESUBMITTABLE_STATUSES,
                 based_on: str | None = None) -> bool:
        """Back to `received` under the next submission number: a new original (`1`), or a replacement (`7`)
        or a void (`8`) of the claim the payer adjudicated; with `based_on`, only while the claim's event is at
        that version (`EventChanged` otherwise)."""
        claim = self.get(claim_id)
        if claim is None or claim.status not in set(statuses):
            return False
        return self.transition(
            claim_id, claim.status, "received", kind="resubmitted", source=source, by=by,
            anyway=True if anyway else None,
            fields={"submission_no": claim.submission_no + 1, "idempotency_key": None, "peer_reference": None,
                    "peer_reasons": None, "last_error": None, "attempts": 0, "control_number": None,
                    "submitted_at": None, "prepared_at": None, "denial_reasons": None,
                    "frequency_code": None if frequency_code == "1" else frequency_code},
            previous_status=claim.status, previous_submission_no=claim.submission_no,
            frequency_code=None if frequency_code == "1" else frequency_code, based_on=based_on,
        )

    def resume_submission(self, claim_id: str, *, source: str, by: str | None = None) -> bool:
        """A failed claim whose submission was never answered goes back to `submitting` under its own key,
        with the same document (control or document number, preparation time)."""
        claim = self.get(claim_id)
        if claim is None or claim.status != "failed" or not claim.idempotency_key:
            return False
        return self.transition(
            claim_id, "failed", "submitting", kind="resubmitted", source=source, by=by,
            fields={"last_error": None, "attempts": 0}, previous_status="failed",
            resumed_key=claim.idempotency_key,
        )

    # VA visits -------------------------------------------------------------------------------------
    def _referral_key(self, referral_number: str) -> str:
        return self._k("referral", referral_number.strip().upper())

    def reserve_visit(self, referral_number: str, session_id: str, authorized: int) -> tuple[bool, int]:
        """Atomically take one visit for the session; returns (granted, visits used by other sessions)."""
        granted, used = self._reserve(keys=[self._referral_key(referral_number)], args=[session_id, authorized])
        return bool(granted), int(used)

    def release_visit(self, referral_number: str, session_id: str) -> bool:
        return bool(self.r.srem(self._referral_key(referral_number), session_id))

    def visits_used(self, referral_number: str, *, excluding: str | None = None) -> int:
        key = self._referral_key(referral_number)
        pipe = self.r.pipeline(transaction=False)
        pipe.scard(key)
        pipe.sismember(key, excluding or "")
        used, member = pipe.execute()
        return int(used) - 1 if excluding and member else int(used)

    # counters and documents -----------------------------------------------------------------------
    def next_number(self, name: str) -> int:
        """Unique, increasing across every worker and machine that shares this Redis."""
        return int(self.r.incr(self._k("seq", name)))

    def put_statement(self, claim_id: str, pdf: bytes) -> None:
        self.r.set(self._k("claim", claim_id, "statement"), pdf)

    def get_statement(self, claim_id: str) -> bytes | None:
        data = self.r.get(self._k("claim", claim_id, "statement"))
        return bytes(data) if data is not None else None

    # statement deliveries and period statements ----------------------------------------------------
    def delivery_transition(self, claim_id: str, expected: Iterable[str], to: str, *, kind: str | None,
                            fields: dict[str, Any] | None = None, **detail: Any) -> bool:
        """Move the statement delivery to `to` if it is in one of `expected` ("" = none yet)."""
        now = time.time()
        entry = _entry(kind, now, delivery=to, **detail) if kind else ""
        ok = self._delivery(
            keys=[self.claim_key(claim_id), self.timeline_key(claim_id), self._k("deliveries"),
                  self._k("deliveries", "failed"), self.long_key(claim_id), self._k("active")],
            args=["," + ",".join(expected) + ",", to, repr(now), entry, "," + ",".join(_DELIVERY_UNFINISHED) + ",",
                  *_field_args(fields or {})],
        )
        return bool(ok)

    def failed_deliveries(self, *, limit: int) -> list[str]:
        """Claims whose statement e-mail failed, the latest first."""
        return [_s(x) for x in self.r.zrevrange(self._k("deliveries", "failed"), 0, limit - 1)]

    def count_unfinished_deliveries(self) -> int:
        return int(self.r.zcard(self._k("deliveries")))

    def stale_deliveries(self, *, older_than: float) -> list[str]:
        return [_s(x) for x in self.r.zrangebyscore(self._k("deliveries"), 0, older_than)]

    def client_claims(self, client_id: str) -> list[str]:
        return sorted(_s(x) for x in self.r.smembers(self._k("client", client_id)))

    def period_document(self, key: str, fingerprint: str, issued_on: str) -> tuple[int, str, int | None]:
        number, issued, replaces = self._period(keys=[self._k("period", key), self._k("seq", "document")],
                                                args=[fingerprint, issued_on])
        return int(number), _s(issued), (int(replaces) if _s(replaces) else None)

    def mark_done(self, key: str) -> bool:
        return bool(self.r.set(self._k("done", key), "1", nx=True))

    def is_done(self, key: str) -> bool:
        return bool(self.r.exists(self._k("done", key)))

    # leases ----------------------------------------------------------------------------------------
    @contextmanager
    def lease(self, name: str, ttl_s: float) -> Iterator[bool]:
        """A short exclusive lease (SET NX PX) so two workers never talk to a peer for one claim at once.

        While it is held it is renewed every third of its time to live (by one thread per process for all the
        leases it holds), so a peer call may take as long as it takes; a holder that dies (SIGKILL) stops
        renewing, and the lease runs out within `ttl_s`."""
        with self._leased(name, ttl_s, None) as (got, _, _):
            yield got

    @contextmanager
    def lease_with_claim(self, name: str, ttl_s: float,
                         claim_id: str) -> Iterator[tuple[bool, Claim | None, dict[str, Any] | None]]:
        """`lease`, and when it is got the claim and its event (`get_with_event`), read after the lease was
        taken and in the same round trip: (got, claim, event document)."""
        with self._leased(name, ttl_s, claim_id) as held:
            yield held

    @contextmanager
    def _leased(self, name: str, ttl_s: float,
                claim_id: str | None) -> Iterator[tuple[bool, Claim | None, dict[str, Any] | None]]:
        key, token, ttl_ms = self._k("lease", name), uuid.uuid4().hex, int(ttl_s * 1000)
        claim: Claim | None = None
        document: dict[str, Any] | None = None
        if claim_id is None:
            got = bool(self.r.set(key, token, nx=True, px=ttl_ms))
        else:  # the reads run after the SET, in order: they see what the lease's previous holder wrote
            pipe = self.r.pipeline(transaction=False)
            pipe.set(key, token, nx=True, px=ttl_ms)
            self._read_with_event(pipe, claim_id)
            taken, raw, long, event = pipe.execute()
            got = bool(taken)
            if got:
                claim, document = self._parse_with_event(raw, long, event)
        if got:
            renewer().hold(self._renew_lease, key, token, ttl_ms)
        try:
            yield got, claim, document
        finally:
            if got:
                renewer().drop(token)
                self._release_lease(keys=[key], args=[token])

    def lease_remaining_ms(self, name: str) -> int:
        """How long the lease `name` still runs (0 when nobody holds it)."""
        return max(int(self.r.pttl(self._k("lease", name))), 0)

    # refused events --------------------------------------------------------------------------------
    def keep_refused(self, *, body: bytes, http_status: int, errors: list[dict[str, str]], source: str,
                     now: float | None = None) -> str:
        """Keep a refused body verbatim, once: the same bytes refused the same way again (a sender's retry,
        a replay refused again) are counted on the first record (`times`, `last_at`), not stored again."""
        now = time.time() if now is None else now
        fingerprint = self._k("refused_body", hashlib.sha256(body).hexdigest() + f":{http_status}")
        first = self.r.get(fingerprint)
        if first is not None and self.r.exists(self._k("refused", _s(first))):
            self.r.hincrby(self._k("refused", _s(first)), "times", 1)
            self.r.hset(self._k("refused", _s(first)), "last_at", repr(now))
            return _s(first)
        refused_id = f"ref_{self.next_number('refused'):06d}"
        if not self.r.set(fingerprint, refused_id, nx=not first):  # two refusals racing: the first one wins
            return self.keep_refused(body=body, http_status=http_status, errors=errors, source=source, now=now)
        pipe = self.r.pipeline(transaction=True)
        pipe.hset(self._k("refused", refused_id), mapping={
            "refused_id": refused_id, "received_at": repr(now), "http_status": str(http_status),
            "errors": json.dumps(errors), "body": body, "source": source, "times": "1",
        })
        pipe.zadd(self._k("refused"), {refused_id: now})
        pipe.execute()
        return refused_id

    def list_refused(self) -> list[Refused]:
        ids = [_s(x) for x in self.r.zrange(self._k("refused"), 0, -1)]
        return [r for r in (self.get_refused(i) for i in ids) if r is not None]

    def get_refused(self, refused_id: str) -> Refused | None:
        raw = self.r.hgetall(self._k("refused", refused_id))
        if not raw:
            return None
        d = {_s(k): v for k, v in raw.items()}
        return Refused(
            refused_id=_s(d["refused_id"]), received_at=float(d["received_at"]),
            http_status=int(d["http_status"]), errors=json.loads(d["errors"]), body=bytes(d["body"]),
            source=_s(d["source"]), replayed_as=_s(d["replayed_as"]) if "replayed_as" in d else None,
            times=int(d.get("times") or 1),
        )

    def count_refused(self) -> int:
        return int(self.r.zcard(self._k("refused")))

    def visit_referral(self, claim_id: str) -> str | None:
        pipe = self.r.pipeline(transaction=False)
        pipe.hget(self.claim_key(claim_id), "visit_referral")
        pipe.hget(self.long_key(claim_id), "visit_referral")
        value = next((v for v in pipe.execute() if v), None)
        return unpack(value) if value else None

    def mark_replayed(self, refused_id: str, outcome: str) -> None:
        self.r.hset(self._k("refused", refused_id), "replayed_as", outcome)


def _s(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _encode(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int | float):
        return repr(value)
    return _compact(value)


def _compact(value: Any) -> str:
    """JSON without the spaces after separators: what the ledger keeps is read by programs, not people."""
    return json.dumps(value, default=str, separators=(",", ":"))


def _entry(kind: str, now: float, **detail: Any) -> bytes:
    """A timeline entry as stored: compact JSON, packed."""
    return pack(_compact({"at": now, "kind": kind, **{k: v for k, v in detail.items() if v is not None}}))


# What a value may be to stay in the claim's hash: Redis keeps a hash compact (a listpack, a ziplist before
# Redis 7: several times smaller than a hash table) only while every value is at most this long
# (`hash-max-listpack-value`, 64 by default); the ledger relies on no server setting.
SHORT_VALUE = 64
# Read by the scripts in the claim's hash, whatever their length.
_IN_CLAIM_HASH = frozenset({"claim_id", "status", "route", "statement_delivery", "updated_at", "version"})


def _field_args(fields: dict[str, Any]) -> list[Any]:
    """The script arguments (`apply`) that store `fields`: the count of short values, of long ones and of
    fields to delete, then (name, value) pairs of the short and long ones, then the names to delete. A value
    longer than `SHORT_VALUE` is packed (`ledger_codec`); if it is still longer it goes to the claim's
    `:long` hash, so that the claim's own hash stays compact."""
    short: list[Any] = []
    long: list[Any] = []
    gone: list[str] = []
    for name, value in fields.items():
        encoded = _encode(value)
        if encoded is None:
            gone.append(name)
            continue
        stored = encoded.encode()
        if len(stored) > SHORT_VALUE:
            stored = pack(stored)
        (short if len(stored) <= SHORT_VALUE or name in _IN_CLAIM_HASH else long).extend((name, stored))
    return [len(short) // 2, len(long) // 2, len(gone), *short, *long, *gone]


def _event(raw: bytes) -> dict[str, Any]:
    return dict(json.loads(unpack(raw)))


def _claim(raw: dict[bytes, bytes], long: dict[bytes, bytes] | None = None) -> Claim:
    d: dict[str, Any] = {_s(k): unpack(v) for k, v in raw.items()}
    d.update({_s(k): unpack(v) for k, v in (long or {}).items()})
    for f in _JSON_FIELDS:
        if f in d:
            d[f] = json.loads(d[f])
    for f in _INT_FIELDS:
        if f in d:
            d[f] = int(d[f])
    for f in _FLOAT_FIELDS:
        if f in d:
            d[f] = float(d[f])
    return Claim.model_validate(d)
