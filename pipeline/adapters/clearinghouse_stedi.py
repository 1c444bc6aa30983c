"""The clearinghouse port on Stedi's healthcare API: a raw X12 837P in, Stedi's and the payer's 277CAs and the
835s out through the transaction poll.

What this relies on (Stedi's API reference and guides, read December 2026):

- Submit: `POST {healthcare}/change/medicalnetwork/professionalclaims/v3/raw-x12-submission`, body
  `{"x12": "<837P>"}`, headers `Authorization: <API key>` (no scheme; the older `Key <API key>` is still
  accepted) and `Idempotency-Key` (1-255 characters). `{healthcare}` is `https://healthcare.us.stedi.com/2024-04-01`.
  https://www.stedi.com/docs/healthcare/api-reference/post-healthcare-claims-raw-x12 ;
  https://www.stedi.com/changelog/authorization-header-update
- The answer: `200` with `status: "SUCCESS"`, `claimReference.correlationId` (Stedi's id of the claim),
  `claimReference.patientControlNumber` (our CLM01) and `x12`, Stedi's own 277CA (it passed Stedi's edits; the
  payer's 277CA comes later); `400` with `status: "ERROR"`, `errors[]` (`code`, `description`,
  `followupAction`) and the rejecting 277CA in `x12`, or a plain validation error `{code, message}`; `403` a
  key that may not do this (a test key with a production claim); `409` the same key still being processed
  (retry after `Retry-After`); `422` the key was used with a different request; `429`, `500`, `503`, `504`.
  https://www.stedi.com/changelog/stedis-claim-submission-api-now-returns-raw-x12-277ca-claim-acknowledgments
- Idempotency: a retry with the same key within 24 hours returns the first answer and creates no second claim;
  after 24 hours the same key is executed again.
  https://www.stedi.com/docs/api-reference/index#idempotency-keys ;
  https://www.stedi.com/changelog/introducing-idempotency-keys-for-stedis-claim-submission-api
- Reports: `GET {core}/polling/transactions?pageToken=` (or `startDateTime=`, at least a minute in the past)
  lists processed transactions oldest first, excluding the last 15 seconds; it always returns a
  `nextPageToken`, to be stored and used for the next poll even when `items` is empty. An item has
  `transactionId`, `direction`, `mode` (`test`/`production`, from ISA15), `processedAt` and
  `x12.metadata.transaction.transactionSetIdentifier` (`277`, `835`) and `functionalGroup.release`.
  `GET {core}/transactions/{id}/input-url` gives a download URL (valid 60 minutes) of the X12 as received
  from the payer. `{core}` is `https://core.us.stedi.com/2023-08-01`.
  https://www.stedi.com/docs/api-reference/core/get-pollingtransactions ; Stedi's OpenAPI documents
  (stedi-healthcare, stedi-core) for the field names.
- Test mode: a test API key and ISA15 `T`; Stedi answers every test claim with its own 277CA, and only claims
  to the Stedi Test Payer (payer id `FRCPB`, provider enrolled for 835s) get a payer 277CA and an 835.
  https://www.stedi.com/docs/healthcare/test-claims-workflow ;
  https://www.stedi.com/changelog/introducing-test-mode-for-claims . ISA08 `STEDITEST` (test) or `STEDI`
  (production) is documented for SFTP (https://www.stedi.com/docs/healthcare/submit-claims-sftp-setup); the
  API reference's own example uses `STEDITEST` with `T`.
- Webhooks (event destinations) deliver the same transaction ids. The poll stays the one way transactions come
  in, so a practice needs no inbound endpoint; one that sets up Stedi's webhook (`POST /v1/stedi/events`,
  `pipeline.domain.stedi_events`) gets its 835s a pass sooner: each event queues one remittance pass
  (`fetch_after_event`) for when the poll lists it. https://www.stedi.com/docs/healthcare/configure-webhooks

How the port maps:

- `submit`: the key is recorded in Redis (with the 837's CLM01 and BHT03) before the POST; `200` is a taken
  claim waiting for the payer (`pending`, reference = Stedi's correlation id); `400` is a rejected claim with
  Stedi's reasons (its 277CA codes, `277CA: A7:33 from Stedi (...)`); `401`/`403`/`404` a refusal
  (`PeerRefused`: rejected, resubmittable once the key or URL is fixed); `409`, `429` and `5xx` are retried;
  `422` (the key was used with a different 837P) means Stedi holds a claim under this key that we cannot see:
  `SubmissionUnknown`, the claim waits for ops.
- `lookup`: Stedi has no "look up by key" endpoint. A key whose answer we stored is answered from Redis, with
  the newest payer 277CA for its claim (CLM01) processed after it was sent: `A2` (or `A1`/`20`) accepted,
  `A3`/`A4`/`A6`/`A7`/`A8`/`E*` rejected with the codes. A key sent but never answered (a crash, a timeout)
  is answered `None` while it is inside the replay window (23 hours of Stedi's 24, a margin for clocks and
  queues), so the step sends the same POST under the same key and Stedi replays its first answer; past that
  window a resend could create a second claim, so `SubmissionUnknown` says so and the claim ends `failed` with
  that reason, for ops to look the claim up in Stedi's portal (by the claim id, which is the patient control
  number). A resubmission of such a claim sends nothing: once the poll has brought a payer 277CA for the claim
  processed after the key was sent, that is its answer; until then it meets the same reason again, unless
  its data is amended (a new key, a new claim at Stedi).
- The poll runs inside `lookup`, at most every `poll_every_s` across all workers (a Redis lock), and pages
  from the stored cursor; each transaction is taken once (a set of seen ids), then the cursor moves on: marked
  seen together with what it brings, in one atomic step (`StediStore.take`), so two passes at once (a poll
  that outlasts `poll_every_s`) take it once and none marks it seen without its content. 277CAs are parsed
  (`pipeline.documents.x12_277ca`), 835s are kept raw, in order, for `remittances(cursor)`, whose cursor is the
  place in that local sequence (Stedi's page token stays the adapter's own).

What is kept in Redis (`<prefix>stedi:`), and for how long (each lifetime starts again at each write):

- `key:<idempotency key>` (a hash: when the key was first sent, its claim and BHT03, Stedi's answer): a key
  Stedi refused (`rejected`, a `400`/`401`/`403`/`404`) is kept `REJECTED_KEY_TTL_S`, 25 hours: past Stedi's
  24-hour replay window its record answers nothing a missing record would not (a rejected key is never sent
  again, and an earlier rejected key is skipped by a resubmission either way). Any other key, sent and
  unanswered or taken, is kept `KEY_TTL_S`, 190 days: it is what a claim waiting for its payer 277CA (up to
  7 days), and a later resubmission that must not send a claim Stedi took a second time, ask about; the VA's
  180-day timely-filing limit plus 10 days, after which no claim is resubmitted.
- `acks:<claim id>` (the 277CAs of a claim) and `used:<transaction id>` (which key a 277CA settled): read
  with the keys of that claim, so kept as long, `KEY_TTL_S` after the latest 277CA of the claim.
- `seen-at` (a sorted set of the transactions taken, by Stedi's `processedAt`): only to take a transaction
  once when the poll starts again from a moment (at most `CLOCK_SLACK_S` before the newest taken), so the
  entries older than `SEEN_KEEP_S`, 7 days, are dropped at each write. (`seen`, the set earlier versions
  kept, is read as well and expires `SEEN_KEEP_S` after the first write of this version.)
- `era`, `era-order`, `era-at` (the 835s taken, in order): an 835 is dropped once the remittance pass has
  kept it (its cursor is past it: the pass keeps each file in its own store first) and Stedi processed it
  more than `ERA_KEEP_S`, 7 days, ago.
- `cursor`, `start`, `newest`, `era-seq`: one value each, kept; `poll-lock` expires after `poll_every_s`,
  `event-fetch` after `EVENT_COALESCE_S`.

What the documentation leaves open (and what we chose):

- Whether a payer's 277CA echoes our BHT03 in 2200B: we match by CLM01 and by time (processed after the key
  was first sent), and prefer a 277CA whose 2200B trace is our BHT03.
- Whether a payer's `A1` (received) counts as accepted: only `A1` with status `20` ("accepted for
  processing") and `A2` do; other `A1`s keep the claim `submitted` until a verdict or the 7-day limit.
- Whether the transaction poll lists 277CAs of test claims sent with a test key: the test-mode guide says test
  claims get 277CAs and test ERAs; we take every inbound 277/835 whatever its `mode`.
- The exact `error` codes of 4xx answers: we branch on the status code only and quote `code`/`message`.
- Whether `/transactions/{id}/input` (a `302`) sets `Location`: we use `/input-url` and fetch its URL
  without our key.
- Whether the raw X12 endpoint checks ISA08 as SFTP does, and whether a `400` answer is kept for its key's
  replay: we record every answer per key ourselves, and a `400` settles the key as rejected.
- Whether a request Stedi never received counts against the key: we cannot tell a lost request from a lost
  answer, so past the window both wait for ops.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import redis
import requests
import structlog

from pipeline.adapters.http_peer import PeerClient
from pipeline.application.errors import PeerRefused, PeerUnavailable, SubmissionUnknown
from pipeline.application.ports import PeerAnswer, RemittanceBatch, RemittanceFile
from pipeline.application.steps import FETCH_REMITTANCES
from pipeline.documents.x12_277ca import ClaimAcknowledgment, parse_277ca, segments

log = structlog.get_logger(__name__)

STEDI_HEALTHCARE_URL = "https://healthcare.us.stedi.com/2024-04-01"
STEDI_CORE_URL = "https://core.us.stedi.com/2023-08-01"
SUBMIT_PATH = "/change/medicalnetwork/professionalclaims/v3/raw-x12-submission"
POLL_PATH = "/polling/transactions"
REPLAY_WINDOW_S = 23 * 3600  # Stedi replays a key for 24 hours; an hour's margin for clocks and queues
# How long the adapter's records live in Redis (see the module's docstring)
KEY_TTL_S = 190 * 86400  # the VA's 180 days of timely filing and 10 more: no resubmission asks after that
REJECTED_KEY_TTL_S = 25 * 3600  # Stedi's 24-hour replay window and an hour
SEEN_KEEP_S = 7 * 86400  # the poll starts again at most CLOCK_SLACK_S before the newest transaction taken
ERA_KEEP_S = 7 * 86400  # an 835 the remittance pass has kept
CLOCK_SLACK_S = 300  # Stedi's processedAt against our clock
MAX_PAGES_PER_POLL = 20
# Stedi's poll lists a transaction 15 s after it was processed ("excluding the last 15 seconds").
LISTED_AFTER_S = 15.0
# Webhook events within this window share one remittance pass.
EVENT_COALESCE_S = 5.0
ACK_RELEASE = "005010X214"


def _claim_facts(x12: str) -> tuple[str, str]:
    """CLM01 and BHT03 of the 837P."""
    clm01 = bht03 = ""
    for seg in segments(x12):
        if seg[0] == "CLM" and len(seg) > 1 and not clm01:
            clm01 = seg[1]
        elif seg[0] == "BHT" and len(seg) > 3 and not bht03:
            bht03 = seg[3]
    return clm01, bht03


def _stamp(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


@dataclass(frozen=True)
class StoredAck:
    transaction_id: str
    processed_at: float
    sender: str
    verdict: str
    reasons: list[str]
    payer_claim_number: str | None
    batch_trace: str | None

    def as_json(self) -> str:
        return json.dumps(self.__dict__)

    @classmethod
    def from_json(cls, raw: str | bytes) -> StoredAck:
        return cls(**json.loads(raw))


# A transaction taken once, with what it brings (`StediStore.take`). KEYS: seen-at, the set earlier versions kept,
# newest, era, era-seq, era-order, era-at, then the claims' 277CAs; ARGV: transaction id, processed at, the
# exclusive bound of the transactions to forget, their lifetime, the claims' lifetime, '1' with an 835, the 835,
# then one 277CA per claim's key.
_TAKE = """
local seen_at, legacy, newest = KEYS[1], KEYS[2], KEYS[3]
local tx, processed_at = ARGV[1], ARGV[2]
redis.call('ZREMRANGEBYSCORE', seen_at, '-inf', ARGV[3])
if redis.call('ZSCORE', seen_at, tx) or redis.call('SISMEMBER', legacy, tx) == 1 then return 0 end
redis.call('ZADD', seen_at, processed_at, tx)
if redis.call('TTL', legacy) == -1 then redis.call('EXPIRE', legacy, ARGV[4]) end
if ARGV[6] == '1' and redis.call('HSETNX', KEYS[4], tx, ARGV[7]) == 1 then
  redis.call('ZADD', KEYS[6], redis.call('INCR', KEYS[5]), tx)
  redis.call('HSET', KEYS[7], tx, processed_at)
end
for i = 8, #KEYS do
  redis.call('HSET', KEYS[i], tx, ARGV[i])
  redis.call('EXPIRE', KEYS[i], ARGV[5])
end
local before = redis.call('GET', newest)
if not before or tonumber(before) < tonumber(processed_at) then redis.call('SET', newest, processed_at) end
return 1
"""


class StediStore:
    """What the adapter must remember across processes, in the ledger's Redis under `<prefix>stedi:` (so a
    backup holds it): each key's first send and answer, the 277CAs per claim, the poll's cursor, the 835s."""

    def __init__(self, client: redis.Redis, *, prefix: str = "sb:") -> None:
        self.r = client
        self.p = prefix + "stedi:"
        self._take = client.register_script(_TAKE)

    def mark_sent(self, key: str, *, claim_id: str, bht03: str, now: float) -> None:
        name = self.p + "key:" + key
        pipe = self.r.pipeline()
        pipe.hsetnx(name, "sent_at", repr(now))
        pipe.hset(name, mapping={"claim_id": claim_id, "bht03": bht03})
        pipe.expire(name, KEY_TTL_S)
        pipe.execute()
        self.r.set(self.p + "start", repr(now - 120), nx=True)  # the poll's first startDateTime

    def key(self, key: str) -> dict[str, str]:
        raw = self.r.hgetall(self.p + "key:" + key)
        return {k.decode() if isinstance(k, bytes) else k: v.decode() if isinstance(v, bytes) else v
                for k, v in raw.items()}

    def answered(self, key: str, answer: dict[str, Any], *, now: float) -> None:
        name = self.p + "key:" + key
        pipe = self.r.pipeline()
        pipe.hset(name, mapping={"answer": json.dumps(answer), "answered_at": repr(now)})
        pipe.expire(name, REJECTED_KEY_TTL_S if answer.get("status") == "rejected" else KEY_TTL_S)
        pipe.execute()

    def acks(self, claim_id: str) -> list[StoredAck]:
        return sorted((StoredAck.from_json(v) for v in self.r.hvals(self.p + "acks:" + claim_id)),
                      key=lambda a: a.processed_at)

    def use(self, transaction_id: str, key: str) -> bool:
        """A 277CA settles one key only: True when it is (now) this key's."""
        self.r.set(self.p + "used:" + transaction_id, key, nx=True, ex=KEY_TTL_S)
        return self.used_by(transaction_id) == key

    def used_by(self, transaction_id: str) -> str | None:
        value = self.r.get(self.p + "used:" + transaction_id)
        return value.decode() if isinstance(value, bytes) else value

    def seen(self, transaction_id: str) -> bool:
        return (self.r.zscore(self.p + "seen-at", transaction_id) is not None
                or bool(self.r.sismember(self.p + "seen", transaction_id)))

    def take(self, transaction_id: str, processed_at: float, *, now: float,
             acks: Iterable[tuple[str, StoredAck]] = (), remittance: str | None = None) -> bool:
        """Take a transaction once, in one atomic step: True for the one caller (of any process) that took it,
        False when it was taken before. What it brings is kept with it, so a transaction is never taken without
        it: its 277CAs, each under its claim id (`acks`), or its 835 (`remittance`), after the 835s taken
        before. What Stedi processed more than `SEEN_KEEP_S` ago is forgotten."""
        acks = list(acks)
        return bool(self._take(
            keys=[self.p + "seen-at", self.p + "seen", self.p + "newest", self.p + "era", self.p + "era-seq",
                  self.p + "era-order", self.p + "era-at", *(self.p + "acks:" + claim for claim, _ in acks)],
            args=[transaction_id, repr(processed_at), f"({now - SEEN_KEEP_S}", SEEN_KEEP_S, KEY_TTL_S,
                  "1" if remittance is not None else "0", remittance or "", *(ack.as_json() for _, ack in acks)]))

    def restart_from(self, moment: float) -> None:
        self.r.delete(self.p + "cursor")
        self.r.set(self.p + "start", repr(moment))

    def newest(self) -> float:
        value = self.r.get(self.p + "newest")
        return float(value) if value is not None else self.start(time.time())

    def cursor(self) -> str | None:
        value = self.r.get(self.p + "cursor")
        return value.decode() if isinstance(value, bytes) else value

    def set_cursor(self, token: str) -> None:
        self.r.set(self.p + "cursor", token)

    def start(self, now: float) -> float:
        value = self.r.get(self.p + "start")
        return float(value) if value is not None else now - 120

    def poll_due(self, every_s: float) -> bool:
        """True for at most one caller per `every_s`, across processes."""
        return bool(self.r.set(self.p + "poll-lock", "1", nx=True, px=max(1, int(every_s * 1000))))

    def first_event_in_window(self) -> bool:
        """True for the first webhook event of each `EVENT_COALESCE_S`, across processes."""
        return bool(self.r.set(self.p + "event-fetch", "1", nx=True, px=int(EVENT_COALESCE_S * 1000)))

    def forget_remittances(self, *, through: int, now: float) -> int:
        """Drop the 835s up to sequence `through` (the remittance pass kept them) that Stedi processed more
        than `ERA_KEEP_S` ago; how many were dropped."""
        kept = [m.decode() if isinstance(m, bytes) else m
                for m in self.r.zrangebyscore(self.p + "era-order", "-inf", through)]
        if not kept:
            return 0
        stamps = self.r.hmget(self.p + "era-at", kept)
        old = [tx for tx, at in zip(kept, stamps, strict=True) if at is None or float(at) < now - ERA_KEEP_S]
        if old:
            pipe = self.r.pipeline()
            pipe.hdel(self.p + "era", *old)
            pipe.hdel(self.p + "era-at", *old)
            pipe.zrem(self.p + "era-order", *old)
            pipe.execute()
        return len(old)

    def remittances_after(self, after: int, limit: int) -> list[tuple[int, str, str]]:
        """(sequence, transaction id, raw 835) of the 835s taken after sequence `after`."""
        out = []
        for member, score in self.r.zrangebyscore(self.p + "era-order", f"({after}", "+inf", start=0,
                                                  num=limit, withscores=True):
            tx = member.decode() if isinstance(member, bytes) else member
            raw = self.r.hget(self.p + "era", tx)
            out.append((int(score), tx, raw.decode() if isinstance(raw, bytes) else str(raw)))
        return out


class StediClearinghouse:
    """`ClearinghousePort` on Stedi: see the module's docstring for the endpoints and the mapping."""

    name = "clearinghouse"

    def __init__(self, *, healthcare: PeerClient, core: PeerClient, store: StediStore,
                 replay_window_s: float = REPLAY_WINDOW_S, poll_every_s: float = 5.0,
                 now: Callable[[], float] = time.time, download: requests.Session | None = None,
                 page_size: int = 100) -> None:
        self.healthcare = healthcare
        self.core = core
        self.store = store
        self.replay_window_s = replay_window_s
        self.poll_every_s = poll_every_s
        self.now = now
        self.download = download or requests.Session()
        self.page_size = page_size

    def _need_key(self) -> None:
        if not self.healthcare.token:
            raise PeerUnavailable(self.name, "SUPERBILL_STEDI_API_KEY is not set: no call to Stedi can be made")

    # submit -------------------------------------------------------------------------------------------
    def submit(self, x12: str, *, idempotency_key: str) -> PeerAnswer:
        self._need_key()
        claim_id, bht03 = _claim_facts(x12)
        self.store.mark_sent(idempotency_key, claim_id=claim_id, bht03=bht03, now=self.now())
        try:
            response = self.healthcare.request("POST", SUBMIT_PATH, idempotency_key=idempotency_key,
                                               json={"x12": x12}, passthrough=(400, 422), transient=(409,))
        except PeerRefused as exc:  # 401, 403, 404: nothing was taken; remember it, so the key is settled
            self.store.answered(idempotency_key, {"status": "rejected", "correlation_id": None,
                                                  "reasons": exc.reasons or [str(exc)]}, now=self.now())
            raise
        assert response is not None
        body = _json(response)
        if response.status_code == 422:
            raise SubmissionUnknown(
                f"clearinghouse: no answer to {idempotency_key} can be had: Stedi says the key was used with a "
                f"different 837P ({_message(body)}), so it holds a claim under it; find claim {claim_id} in "
                "Stedi's portal before sending it again")
        if response.status_code == 400:
            answer = {"status": "rejected", "reasons": _stedi_reasons(body),
                      "correlation_id": _correlation_id(body)}
        else:
            verdicts = [a for a in _acks(body.get("x12")) if a.verdict == "rejected"]
            answer = {"status": "rejected" if verdicts else "taken",
                      "reasons": [r for a in verdicts for r in a.reasons()],
                      "correlation_id": _correlation_id(body)}
        self.store.answered(idempotency_key, answer, now=self.now())
        log.info("stedi.submitted", idempotency_key=idempotency_key, http_status=response.status_code,
                 outcome=answer["status"], correlation_id=answer["correlation_id"])
        return self._answer(idempotency_key, answer, self.store.key(idempotency_key), poll=False)

    # lookup -------------------------------------------------------------------------------------------
    def lookup(self, idempotency_key: str) -> PeerAnswer | None:
        self._need_key()
        record = self.store.key(idempotency_key)
        if "answer" not in record:
            sent_at = float(record["sent_at"]) if record.get("sent_at") else None
            if sent_at is None:
                return None  # never sent
            if self.now() - sent_at < self.replay_window_s:
                return None  # send it again under the same key: Stedi replays its first answer
            self._poll_quietly()
            ack = self._payer_ack(idempotency_key, record)
            if ack is not None and ack.verdict in ("accepted", "rejected"):
                # the payer answered about this claim after it was sent: Stedi took it
                self.store.answered(idempotency_key, {"status": "taken", "correlation_id": None, "reasons": [],
                                                      "learned_from": ack.transaction_id}, now=self.now())
                return self._answer(idempotency_key, {"status": "taken", "correlation_id": None, "reasons": []},
                                    record, poll=False)
            hours = (self.now() - sent_at) / 3600
            raise SubmissionUnknown(
                f"clearinghouse: no answer to {idempotency_key} was received, and it was sent {hours:.0f} h ago, "
                "past Stedi's 24-hour replay window: sending it again could create a second claim. Find claim "
                f"{record.get('claim_id') or idempotency_key} in Stedi's portal: if Stedi has it, resubmit it once "
                "its payer 277CA is there (it is then taken from Stedi's poll, nothing is sent); if not, amend the "
                "claim and resubmit it")
        return self._answer(idempotency_key, json.loads(record["answer"]), record, poll=True)

    def _answer(self, key: str, answer: dict[str, Any], record: dict[str, str], *, poll: bool) -> PeerAnswer:
        raw = {"stedi": answer, "idempotency_key": key}
        if answer["status"] == "rejected":
            return PeerAnswer(outcome="rejected", file_accepted=False, reference=answer.get("correlation_id"),
                              reasons=list(answer["reasons"]) or ["277CA: rejected by Stedi"], raw=raw)
        if poll:
            self._poll_quietly()
        ack = self._payer_ack(key, record)
        reference = answer.get("correlation_id")
        if ack is None:
            return PeerAnswer(outcome="pending", reference=reference, raw=raw)
        raw["payer_277ca"] = ack.__dict__
        if ack.verdict in ("accepted", "rejected") and not self.store.use(ack.transaction_id, key):
            return PeerAnswer(outcome="pending", reference=reference, raw=raw)  # another key's verdict
        if ack.verdict == "rejected":
            return PeerAnswer(outcome="rejected", reference=ack.payer_claim_number or reference,
                              reasons=ack.reasons, raw=raw)
        if ack.verdict == "accepted":
            return PeerAnswer(outcome="accepted", reference=ack.payer_claim_number or reference, raw=raw)
        return PeerAnswer(outcome="pending", reference=reference, raw=raw)

    def _payer_ack(self, key: str, record: dict[str, str]) -> StoredAck | None:
        """The newest verdict of the payer (or a later one of Stedi's) on this claim since this key was sent, and
        not already the verdict on another of its keys (a resubmission soon after a rejection)."""
        claim_id = record.get("claim_id") or ""
        since = float(record.get("sent_at") or 0) - CLOCK_SLACK_S
        acks = [a for a in self.store.acks(claim_id)
                if a.processed_at >= since and (a.sender == "payer" or a.verdict == "rejected")
                and self.store.used_by(a.transaction_id) in (None, key)]
        exact = [a for a in acks if a.batch_trace and a.batch_trace == record.get("bht03")]
        chosen = exact or acks
        decided = [a for a in chosen if a.verdict in ("accepted", "rejected")]
        return (decided or chosen)[-1] if chosen else None

    # the transaction poll ------------------------------------------------------------------------------
    def _poll_quietly(self) -> None:
        if not self.store.poll_due(self.poll_every_s):
            return
        try:
            self.poll()
        except (PeerUnavailable, PeerRefused) as exc:  # the stored state still answers; the next look polls
            log.warning("stedi.poll_failed", error=str(exc))

    def poll(self) -> int:
        """Take every new transaction from the stored cursor on; returns how many were new."""
        taken = 0
        token = self.store.cursor()
        for _ in range(MAX_PAGES_PER_POLL):
            if token:
                params: dict[str, str | int] = {"pageToken": token, "pageSize": self.page_size}
            else:
                start = datetime.fromtimestamp(self.store.start(self.now()), UTC) - timedelta(seconds=60)
                params = {"startDateTime": start.isoformat(timespec="seconds").replace("+00:00", "Z"),
                          "pageSize": self.page_size}
            try:
                response = self.core.request("GET", POLL_PATH, params=params)
            except PeerRefused as exc:
                if not token or exc.status != 400:
                    raise
                # a page token Stedi no longer takes: start again a little before the newest transaction
                # taken (the seen set keeps each one once)
                log.warning("stedi.cursor_refused", error=str(exc))
                self.store.restart_from(self.store.newest() - CLOCK_SLACK_S)
                token = None
                continue
            assert response is not None
            body = _json(response)
            items = body.get("items") or []
            for item in items:
                taken += self._take(item)
            token = body.get("nextPageToken") or token
            if token:
                self.store.set_cursor(token)
            if not items or not body.get("nextPageToken"):
                break
        return taken

    def _take(self, item: dict[str, Any]) -> int:
        tx = str(item.get("transactionId") or "")
        if not tx or self.store.seen(tx) or item.get("direction") != "INBOUND":
            return 0
        metadata = ((item.get("x12") or {}).get("metadata") or {})
        kind = str((metadata.get("transaction") or {}).get("transactionSetIdentifier") or "")
        release = str((metadata.get("functionalGroup") or {}).get("release") or "")
        processed_at = _stamp(item.get("processedAt")) or self.now()
        acks: list[tuple[str, StoredAck]] = []
        remittance = None
        if kind == "277" and release in ("", ACK_RELEASE):
            acks = [(ack.patient_control_number, _stored(tx, processed_at, ack))
                    for ack in parse_277ca(self._document(tx))]
        elif kind == "835":
            remittance = self._document(tx)
        if not self.store.take(tx, processed_at, now=self.now(), acks=acks, remittance=remittance):
            return 0  # another pass took it meanwhile
        log.info("stedi.transaction_taken", transaction_id=tx, transaction_set=kind, mode=item.get("mode"))
        return 1

    def _document(self, transaction_id: str) -> str:
        """The X12 of an inbound transaction, as the payer sent it."""
        response = self.core.request("GET", f"/transactions/{transaction_id}/input-url")
        assert response is not None
        url = _json(response).get("documentDownloadUrl")
        if not url:
            raise PeerUnavailable(self.core.name, f"no download URL for transaction {transaction_id}")
        try:
            download = self.download.get(url, timeout=self.core.timeout_s)
        except requests.RequestException as exc:
            raise PeerUnavailable(self.core.name, f"cannot download a document ({type(exc).__name__})") from None
        if download.status_code != 200:
            raise PeerUnavailable(self.core.name, f"document download answered {download.status_code}")
        return download.text

    # remittances --------------------------------------------------------------------------------------
    def remittances(self, cursor: str | None, *, limit: int = 100) -> RemittanceBatch:
        """The 835s taken from Stedi's poll after `cursor` (our own sequence of them; None: from the first),
        oldest first. Polls Stedi first (at most every `poll_every_s`); a failed poll raises PeerUnavailable."""
        self._need_key()
        if self.store.poll_due(self.poll_every_s):
            self.poll()
        try:
            after = int(cursor) if cursor else 0
        except ValueError:
            after = 0  # a cursor of another clearinghouse: from the first (files are kept once by content)
        self.store.forget_remittances(through=after, now=self.now())  # the pass kept those before asking
        found = self.store.remittances_after(after, limit + 1)
        files = [RemittanceFile(source_id=tx, x12=raw, cursor=str(seq)) for seq, tx, raw in found[:limit]]
        return RemittanceBatch(files=files, cursor=files[-1].cursor if files else cursor,
                               has_more=len(found) > limit)

def fetch_after_event(store: StediStore, send: Callable[..., None], *, poll_every_s: float = 5.0) -> bool:
    """A Stedi webhook announced a new 277CA or 835: queue one remittance pass (its poll also takes the 277CAs)
    for when Stedi's poll lists the transaction, unless an event of the last `EVENT_COALESCE_S` did. True
    when this event queued it.

    The pass runs `LISTED_AFTER_S + EVENT_COALESCE_S + poll_every_s` after the first event of a window: by then
    every transaction announced in that window is listed, and a poll skipped because another ran in the last
    `poll_every_s` was itself late enough to list them."""
    if not store.first_event_in_window():
        return False
    delay_s = LISTED_AFTER_S + EVENT_COALESCE_S + poll_every_s
    send(FETCH_REMITTANCES, "", delay_ms=int(delay_s * 1000))
    return True


def _stored(tx: str, processed_at: float, ack: ClaimAcknowledgment) -> StoredAck:
    return StoredAck(transaction_id=tx, processed_at=processed_at, sender=ack.sender, verdict=ack.verdict,
                     reasons=ack.reasons(), payer_claim_number=ack.payer_claim_number, batch_trace=ack.batch_trace)


def _json(response: requests.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _message(body: dict[str, Any]) -> str:
    code, message = body.get("code"), body.get("message") or body.get("error") or "no message"
    return f"{code}: {message}" if code else str(message)


def _correlation_id(body: dict[str, Any]) -> str | None:
    reference = body.get("claimReference") or {}
    value = reference.get("correlationId") or reference.get("rhclaimNumber")
    return str(value) if value else None


def _acks(x12: Any) -> list[ClaimAcknowledgment]:
    if not isinstance(x12, str) or not x12.strip():
        return []
    try:
        return parse_277ca(x12)
    except ValueError:
        return []


def _stedi_reasons(body: dict[str, Any]) -> list[str]:
    """Stedi's 277CA codes when it sent one, then each edit's code, description and follow-up."""
    reasons = [r for a in _acks(body.get("x12")) for r in a.reasons()]
    for error in body.get("errors") or []:
        if isinstance(error, dict):
            text = " ".join(str(error[k]) for k in ("description", "followupAction") if error.get(k))
            reasons.append(f"Stedi edit {error.get('code') or '?'}: {text}".strip())
    if not reasons:
        reasons.append(f"Stedi answered 400: {_message(body)}")
    return reasons

