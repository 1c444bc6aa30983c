"""The claim ledger in Redis: the source of truth. Queues only trigger; every step reads and writes here.

Layout (prefix `sb:`):
  claim:{id}            hash: status, route, problems, attempts, last error, ...
  claim:{id}:event      the event the claim is built from (after any amendment), JSON
  claim:{id}:timeline   stream, append-only: every step, attempt, peer answer, amendment
  claim:{id}:statement  the latest statement PDF (bytes)
  claim:{id}:documents  hash: what was sent to the peer per submission (837P, courtesy payload) and its answers
  claims                sorted set of claim ids by creation time
  status:{s}            sorted set of claim ids by the time they reached status s
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
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import redis

from pipeline.application.ports import IngestResult, Refused
from schemas.claim import RESUBMITTABLE_STATUSES, STATUSES, Claim

_JSON_FIELDS = ("problems", "warnings", "superbill", "peer_reasons", "denial_reasons", "remittance_ids")
_INT_FIELDS = ("attempts", "submission_no", "control_number", "statement_sends", "remitted_submission_no")
_FLOAT_FIELDS = ("created_at", "updated_at", "status_changed_at", "submitted_at", "prepared_at", "amended_at",
                 "statement_sent_at", "timely_filing_alerted_at")
_DELIVERY_UNFINISHED = ("queued", "sending", "committing", "retrying")

# Compare-and-set of a claim's status, its fields, its indexes and a timeline entry, in one step.
_TRANSITION = """
local claim, timeline = KEYS[1], KEYS[2]
local expected, new_status, now, fields, entry, prefix = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6]
local cur = redis.call('HGET', claim, 'status')
if not cur then return {0, ''} end
local ok = (expected == '*')
for s in string.gmatch(expected, '[^,]+') do if s == cur then ok = true end end
if not ok then return {0, cur} end
local id = redis.call('HGET', claim, 'claim_id')
local old_route = redis.call('HGET', claim, 'route')
for k, v in pairs(cjson.decode(fields)) do
  if v == cjson.null then redis.call('HDEL', claim, k) else redis.call('HSET', claim, k, v) end
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
if entry ~= '' then redis.call('XADD', timeline, '*', 'entry', entry) end
if #KEYS >= 4 then  -- the next step's message, queued with the move (the step sender's layout)
  redis.call('HSET', KEYS[4], ARGV[7], ARGV[8])
  redis.call('RPUSH', KEYS[3], ARGV[7])
  if KEYS[5] then redis.call('LPUSH', KEYS[5], '1'); redis.call('LTRIM', KEYS[5], 0, 7) end  -- wake a consumer
  return {1, cur, 1}
end
return {1, cur, 0}
"""

# A remittance posting, at most once per posting key: the key names the remittance that posted it.
_POST_ONCE = """
local who = redis.call('HGET', KEYS[3], ARGV[7])
if who then return {0, 'posted:' .. who} end
""" + _TRANSITION.replace("return {1, cur, 0}", "redis.call('HSET', KEYS[3], ARGV[7], ARGV[8])\nreturn {1, cur, 0}")
assert "redis.call('HSET', KEYS[3], ARGV[7], ARGV[8])" in _POST_ONCE  # called with three keys: never the outbox

# A new event: a claim, a duplicate, or a different event for a session that already has a claim.
_INGEST = """
local event_key, claim, timeline, event_doc_key, claims = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local claim_id, now, fields, entry, event_doc, prefix, other_entry =
  ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6], ARGV[7]
local existing = redis.call('GET', event_key)
if existing then return {'duplicate', existing} end
redis.call('SET', event_key, claim_id)
if redis.call('EXISTS', claim) == 1 then
  redis.call('XADD', timeline, '*', 'entry', other_entry)
  redis.call('HSET', claim, 'updated_at', now)
  return {'kept_for_review', claim_id}
end
for k, v in pairs(cjson.decode(fields)) do redis.call('HSET', claim, k, v) end
redis.call('SET', event_doc_key, event_doc)
redis.call('ZADD', claims, now, claim_id)
redis.call('ZADD', prefix .. 'status:received', now, claim_id)
redis.call('XADD', timeline, '*', 'entry', entry)
if #KEYS >= 7 then  -- the first step's message, queued with the claim (the step sender's layout)
  redis.call('HSET', KEYS[7], ARGV[8], ARGV[9])
  redis.call('RPUSH', KEYS[6], ARGV[8])
  if KEYS[8] then redis.call('LPUSH', KEYS[8], '1'); redis.call('LTRIM', KEYS[8], 0, 7) end  -- wake a consumer
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
_DELIVERY = """
local claim, timeline, pending, failed = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local expected, new_state, now, fields, entry, unfinished = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6]
if redis.call('EXISTS', claim) == 0 then return 0 end
local cur = redis.call('HGET', claim, 'statement_delivery') or ''
if not string.find(expected, ',' .. cur .. ',', 1, true) then return 0 end
for k, v in pairs(cjson.decode(fields)) do
  if v == cjson.null then redis.call('HDEL', claim, k) else redis.call('HSET', claim, k, v) end
end
redis.call('HSET', claim, 'statement_delivery', new_state, 'updated_at', now)
local id = redis.call('HGET', claim, 'claim_id')
if string.find(unfinished, ',' .. new_state .. ',', 1, true) then
  redis.call('ZADD', pending, now, id)
else
  redis.call('ZREM', pending, id)
end
if new_state == 'failed' then redis.call('ZADD', failed, now, id) else redis.call('ZREM', failed, id) end
if entry ~= '' then redis.call('XADD', timeline, '*', 'entry', entry) end
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
                self._k("claim", claim_id, "event"), self._k("claims")]
        args = [claim_id, repr(now), json.dumps(fields), entry, _compact(event_doc), self.prefix, other]
        if first_step and self.outbox is not None:
            queue_key, messages_key, wake_key, message_id, message = self.outbox(first_step, claim_id)
            keys += [queue_key, messages_key, wake_key]
            args += [message_id, message]
        outcome, cid, *queued = self._ingest(keys=keys, args=args)
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
        raw = self.r.hgetall(self.claim_key(claim_id))
        return _claim(raw) if raw else None

    def get_many(self, claim_ids: Iterable[str]) -> list[Claim]:
        ids = list(claim_ids)
        pipe = self.r.pipeline(transaction=False)
        for cid in ids:
            pipe.hgetall(self.claim_key(cid))
        return [_claim(raw) for raw in pipe.execute() if raw]

    def get_with_event(self, claim_id: str) -> tuple[Claim | None, dict[str, Any] | None]:
        pipe = self.r.pipeline(transaction=False)
        pipe.hgetall(self.claim_key(claim_id))
        pipe.get(self._k("claim", claim_id, "event"))
        raw, event = pipe.execute()
        return (_claim(raw) if raw else None), (dict(json.loads(event)) if event is not None else None)

    def event_document(self, claim_id: str) -> dict[str, Any]:
        raw = self.r.get(self._k("claim", claim_id, "event"))
        if raw is None:
            raise KeyError(claim_id)
        return dict(json.loads(raw))

    def event_documents(self, claim_ids: list[str]) -> dict[str, dict[str, Any]]:
        pipe = self.r.pipeline(transaction=False)
        for cid in claim_ids:
            pipe.get(self._k("claim", cid, "event"))
        return {cid: dict(json.loads(raw)) for cid, raw in zip(claim_ids, pipe.execute(), strict=True)
                if raw is not None}

    def keep_document(self, claim_id: str, name: str, text: str) -> None:
        self.r.hset(self._k("claim", claim_id, "documents"), name, text)

    def documents(self, claim_id: str) -> dict[str, str]:
        return {_s(k): _s(v) for k, v in self.r.hgetall(self._k("claim", claim_id, "documents")).items()}

    def timelines_since(self, claim_ids: list[str], since: float) -> dict[str, list[dict[str, Any]]]:
        pipe = self.r.pipeline(transaction=False)
        for cid in claim_ids:
            pipe.xrange(self.timeline_key(cid), min=f"{int(since * 1000)}-0")
        return {cid: [json.loads(f[b"entry"]) for _, f in rows]
                for cid, rows in zip(claim_ids, pipe.execute(), strict=True)}

    def timeline(self, claim_id: str) -> list[dict[str, Any]]:
        return [json.loads(fields[b"entry"]) for _, fields in self.r.xrange(self.timeline_key(claim_id))]

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

    # writing ---------------------------------------------------------------------------------------
    def transition(self, claim_id: str, expected: str | Iterable[str], to: str | None, *, kind: str,
                   fields: dict[str, Any] | None = None, now: float | None = None, **detail: Any) -> bool:
        """Move the claim to `to` if it is in one of `expected` ("*" for any); False (and nothing changes)
        otherwise. `fields` are stored with it (None deletes); a timeline entry records the step."""
        now = time.time() if now is None else now
        exp = expected if isinstance(expected, str) else ",".join(expected)
        stored = {k: _encode(v) for k, v in (fields or {}).items()}
        entry = _entry(kind, now, to=to, **detail)
        ok, *_ = self._transition(
            keys=[self.claim_key(claim_id), self.timeline_key(claim_id)],
            args=[exp, to or "", repr(now), _compact(stored), entry, self.prefix],
        )
        return bool(ok)

    def advance(self, claim_id: str, expected: str | Iterable[str], to: str, *, then: str, kind: str,
                fields: dict[str, Any] | None = None, **detail: Any) -> tuple[bool, bool]:
        """`transition`, and with an outbox the step `then` queued by the same script: (moved, queued).
        Without an outbox nothing is queued and the caller sends the step."""
        now = time.time()
        exp = expected if isinstance(expected, str) else ",".join(expected)
        stored = {k: _encode(v) for k, v in (fields or {}).items()}
        keys = [self.claim_key(claim_id), self.timeline_key(claim_id)]
        args = [exp, to, repr(now), _compact(stored), _entry(kind, now, to=to, **detail), self.prefix]
        if self.outbox is not None:
            queue_key, messages_key, wake_key, message_id, message = self.outbox(then, claim_id)
            keys += [queue_key, messages_key, wake_key]
            args += [message_id, message]
        ok, _, *queued = self._transition(keys=keys, args=args)
        return bool(ok), bool(ok and queued and int(queued[0]))

    def post_once(self, claim_id: str, posting_key: str, remittance_id: str, expected: Iterable[str], to: str, *,
                  kind: str, fields: dict[str, Any], **detail: Any) -> tuple[bool, str]:
        """A remittance's decision applied to the claim at most once per `posting_key`, atomically with the
        status change: (True, previous status), or (False, `posted:<remittance id>` when that key was posted
        before, else the claim's status, or '' when there is no such claim)."""
        now = time.time()
        stored = {k: _encode(v) for k, v in fields.items()}
        entry = _entry(kind, now, to=to, remittance_id=remittance_id, **detail)
        ok, seen, *_ = self._post_once(
            keys=[self.claim_key(claim_id), self.timeline_key(claim_id), self._k("postings")],
            args=[",".join(expected), to, repr(now), json.dumps(stored), entry, self.prefix, posting_key,
                  remittance_id],
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
        pipe = self.r.pipeline(transaction=True)
        pipe.hincrby(self.claim_key(claim_id), "attempts", 1)
        pipe.hset(self.claim_key(claim_id), mapping={"last_error": error, "updated_at": repr(now)})
        pipe.xadd(self.timeline_key(claim_id), {"entry": _entry("attempt.failed", now, peer=peer, error=error)})
        pipe.execute()

    def replace_event(self, claim_id: str, event_doc: dict[str, Any], *, index: dict[str, str],
                      changed: list[str], source: str, by: str | None = None) -> bool:
        """An amendment: only for claims that are not on their way to, or at, a peer."""
        ok = self.transition(
            claim_id, ("needs_attention", "rejected", "failed", "denied", "received"), None,
            kind="amended", fields={**index, "amended_at": time.time()}, changed=changed, source=source, by=by,
        )
        if ok:
            self.r.set(self._k("claim", claim_id, "event"), _compact(event_doc))
        return ok

    def resubmit(self, claim_id: str, *, source: str, by: str | None = None, anyway: bool = False,
                 frequency_code: str = "1", statuses: Iterable[str] = RESUBMITTABLE_STATUSES) -> bool:
        """Back to `received` under the next submission number: a new original (`1`), or a replacement (`7`)
        or a void (`8`) of the claim the payer adjudicated."""
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
            frequency_code=None if frequency_code == "1" else frequency_code,
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
        stored = {k: _encode(v) for k, v in (fields or {}).items()}
        entry = _entry(kind, now, delivery=to, **detail) if kind else ""
        ok = self._delivery(
            keys=[self.claim_key(claim_id), self.timeline_key(claim_id), self._k("deliveries"),
                  self._k("deliveries", "failed")],
            args=["," + ",".join(expected) + ",", to, repr(now), json.dumps(stored), entry,
                  "," + ",".join(_DELIVERY_UNFINISHED) + ","],
        )
        return bool(ok)

    def failed_deliveries(self, *, limit: int) -> list[str]:
        """Claims whose statement e-mail failed, the latest first."""
        return [_s(x) for x in self.r.zrevrange(self._k("deliveries", "failed"), 0, limit - 1)]

    def count_unfinished_deliveries(self) -> int:
        return int(self.r.zcard(self._k("deliveries")))

    def stale_deliveries(self, *, older_than: float) -> list[str]:
        return [_s(x) for x in self.r.zrangebyscore(self._k("deliveries"), 0, older_than)]

    def index_client(self, client_id: str, claim_id: str) -> None:
        self.r.sadd(self._k("client", client_id), claim_id)

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

        While it is held it is renewed every third of its time to live, so a peer call may take as long as
        it takes; a holder that dies (SIGKILL) stops renewing, and the lease runs out within `ttl_s`."""
        key, token, ttl_ms = self._k("lease", name), uuid.uuid4().hex, int(ttl_s * 1000)
        got = bool(self.r.set(key, token, nx=True, px=ttl_ms))
        done = threading.Event()
        if got:
            def renew() -> None:
                while not done.wait(ttl_s / 3):
                    try:
                        self._renew_lease(keys=[key], args=[token, ttl_ms])
                    except redis.RedisError:  # the next renewal tries again; the lease may run out meanwhile
                        continue

            threading.Thread(target=renew, name=f"lease-{name}", daemon=True).start()
        try:
            yield got
        finally:
            done.set()
            if got:
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
        value = self.r.hget(self.claim_key(claim_id), "visit_referral")
        return _s(value) if value else None

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


def _entry(kind: str, now: float, **detail: Any) -> str:
    return _compact({"at": now, "kind": kind, **{k: v for k, v in detail.items() if v is not None}})


def _claim(raw: dict[bytes, bytes]) -> Claim:
    d: dict[str, Any] = {_s(k): _s(v) for k, v in raw.items()}
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
