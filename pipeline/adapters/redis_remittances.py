"""The `RemittanceStore` port on Redis: every 835 file received, kept once by its content, and the feed cursor.

Layout (the ledger's prefix, `sb:`):
  remit:cursor          where the next fetch of the clearinghouse's feed starts
  remit:by_hash:{sha}   the remittance id of a file with this content (a second delivery finds it)
  remit:{id}            hash: source id, received_at, x12, status, deliveries, errors, claims, summary
  remits                sorted set of remittance ids by arrival
  remit:unposted        set of remittance ids not yet (fully) posted
"""

from __future__ import annotations

import hashlib
import json
import time
from typing import Any

import redis

from pipeline.application.ports import StoredRemittance

# Keep a file once: a second delivery of the same bytes counts on the first record.
_KEEP = """
local by_hash, prefix = KEYS[1], ARGV[1]
local rid = redis.call('GET', by_hash)
if rid and redis.call('EXISTS', prefix .. 'remit:' .. rid) == 1 then
  redis.call('HINCRBY', prefix .. 'remit:' .. rid, 'deliveries', 1)
  return {rid, 0}
end
if not rid then
  rid = string.format('rem_%06d', redis.call('INCR', prefix .. 'seq:remittance'))
  redis.call('SET', by_hash, rid)
end
local key = prefix .. 'remit:' .. rid
redis.call('HSET', key, 'remittance_id', rid, 'source_id', ARGV[2], 'received_at', ARGV[3], 'x12', ARGV[4],
           'sha256', ARGV[5], 'status', 'received', 'deliveries', 1)
redis.call('ZADD', prefix .. 'remits', ARGV[3], rid)
redis.call('SADD', prefix .. 'remit:unposted', rid)
return {rid, 1}
"""


def _s(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def canonical(x12: str) -> str:
    """The file without line breaks and surrounding blanks: the same 835 compares equal."""
    return x12.replace("\r", "").replace("\n", "").strip()


class RedisRemittances:
    def __init__(self, client: redis.Redis, *, prefix: str = "sb:") -> None:
        self.r = client
        self.prefix = prefix
        self._keep = client.register_script(_KEEP)

    def _k(self, *parts: str) -> str:
        return self.prefix + ":".join(parts)

    def cursor(self) -> str | None:
        value = self.r.get(self._k("remit", "cursor"))
        return _s(value) if value is not None else None

    def set_cursor(self, cursor: str) -> None:
        self.r.set(self._k("remit", "cursor"), cursor)

    def keep(self, *, x12: str, source_id: str) -> tuple[str, bool]:
        digest = hashlib.sha256(canonical(x12).encode()).hexdigest()
        rid, new = self._keep(keys=[self._k("remit", "by_hash", digest)],
                              args=[self.prefix, source_id, repr(time.time()), x12, digest])
        return _s(rid), bool(new)

    def get(self, remittance_id: str) -> StoredRemittance | None:
        raw = self.r.hgetall(self._k("remit", remittance_id))
        return _stored({_s(k): _s(v) for k, v in raw.items()}) if raw else None

    def all(self) -> list[StoredRemittance]:
        """Every file, oldest first, without its X12 text (`get` has it): one round trip for the lot."""
        ids = [_s(x) for x in self.r.zrange(self._k("remits"), 0, -1)]
        pipe = self.r.pipeline(transaction=False)
        for rid in ids:
            pipe.hmget(self._k("remit", rid), _LISTED)
        rows = [dict(zip(_LISTED, (_s(v) if v is not None else None for v in values), strict=True))
                for values in pipe.execute()]
        return [_stored({k: v for k, v in row.items() if v is not None}) for row in rows if row["remittance_id"]]

    def unposted(self) -> list[str]:
        ids = [_s(x) for x in self.r.smembers(self._k("remit", "unposted"))]
        return sorted(ids)

    def record(self, remittance_id: str, *, status: str, errors: list[str], claims: list[dict[str, Any]],
               summary: dict[str, Any]) -> None:
        pipe = self.r.pipeline(transaction=True)
        pipe.hset(self._k("remit", remittance_id), mapping={
            "status": status, "errors": json.dumps(errors), "claims": json.dumps(claims, default=str),
            "summary": json.dumps(summary, default=str), "posted_at": repr(time.time())})
        if status not in ("received", "partly_posted"):
            pipe.srem(self._k("remit", "unposted"), remittance_id)
        pipe.execute()


_LISTED = ("remittance_id", "source_id", "received_at", "status", "deliveries", "errors", "claims", "summary")


def _stored(d: dict[str, str]) -> StoredRemittance:
    return StoredRemittance(
        remittance_id=d["remittance_id"], source_id=d.get("source_id", ""),
        received_at=float(d.get("received_at") or 0), x12=d.get("x12", ""), status=d.get("status", "received"),
        deliveries=int(d.get("deliveries") or 1), errors=json.loads(d.get("errors") or "[]"),
        claims=json.loads(d.get("claims") or "[]"), summary=json.loads(d.get("summary") or "{}"),
    )
