"""The `StaffStore` port on Redis: accounts, sessions, bearer tokens and the audit log.

Layout (prefix `sb:`):
  staff:users                 set of user names
  staff:user:{name}           hash: name, kind, password hash (argon2id), disabled, created_at
  staff:session:{sha256}      hash: user, csrf token, created/expires; its TTL is the idle expiry
  staff:sessions:{name}       set of the person's session digests (to end them all at once)
  staff:token:{sha256}        hash: user, label, created_at (a bearer token for the ops API)
  staff:tokens:{name}         set of the person's token digests
  staff:failed:{name}         failed sign-ins in the current window (expires with it)
  audit                       stream: sign-ins, account changes, amendments, resubmissions, replays
"""

from __future__ import annotations

import json
from typing import Any

import redis

from pipeline.application.staff import StaffSession, StaffUser

AUDIT_KEEP = 100_000


class RedisStaffStore:
    def __init__(self, client: redis.Redis, *, prefix: str = "sb:") -> None:
        self.r = client
        self.prefix = prefix

    def _k(self, *parts: str) -> str:
        return self.prefix + ":".join(parts)

    # accounts -------------------------------------------------------------------------------------
    def add_user(self, user: StaffUser) -> bool:
        if not self.r.sadd(self._k("staff", "users"), user.username):
            return False
        self.set_user(user)
        return True

    def set_user(self, user: StaffUser) -> None:
        self.r.hset(self._k("staff", "user", user.username), mapping={
            "username": user.username, "name": user.name, "kind": user.kind,
            "password_hash": user.password_hash or "", "disabled": "1" if user.disabled else "0",
            "created_at": repr(user.created_at)})

    def get_user(self, username: str) -> StaffUser | None:
        raw = self.r.hgetall(self._k("staff", "user", username))
        if not raw:
            return None
        d = {k.decode(): v.decode() for k, v in raw.items()}
        kind = "service" if d.get("kind") == "service" else "person"
        return StaffUser(username=d["username"], name=d["name"], kind=kind,
                         password_hash=d.get("password_hash") or None, disabled=d.get("disabled") == "1",
                         created_at=float(d.get("created_at") or 0))

    def list_users(self) -> list[StaffUser]:
        names = sorted(x.decode() for x in self.r.smembers(self._k("staff", "users")))
        return [u for u in (self.get_user(n) for n in names) if u is not None]

    # sessions -------------------------------------------------------------------------------------
    def save_session(self, digest: str, session: StaffSession, ttl_s: float) -> None:
        key = self._k("staff", "session", digest)
        pipe = self.r.pipeline(transaction=True)
        pipe.hset(key, mapping={"user": session.username, "csrf": session.csrf,
                                "created_at": repr(session.created_at), "expires_at": repr(session.expires_at),
                                "flash": json.dumps(session.flash)})
        pipe.pexpire(key, max(int(ttl_s * 1000), 1))
        pipe.sadd(self._k("staff", "sessions", session.username), digest)
        pipe.execute()

    def load_session(self, digest: str, idle_s: float | None) -> StaffSession | None:
        key = self._k("staff", "session", digest)
        raw = self.r.hgetall(key)
        if not raw:
            return None
        d = {k.decode(): v.decode() for k, v in raw.items()}
        session = StaffSession(username=d["user"], csrf=d["csrf"], created_at=float(d["created_at"]),
                               expires_at=float(d["expires_at"]), flash=json.loads(d.get("flash") or "[]"))
        if idle_s is not None:
            self.r.pexpire(key, max(int(idle_s * 1000), 1))
        return session

    def set_flash(self, digest: str, messages: list[str]) -> None:
        key = self._k("staff", "session", digest)
        if self.r.exists(key):
            self.r.hset(key, "flash", json.dumps(messages))

    def drop_session(self, digest: str) -> None:
        user = self.r.hget(self._k("staff", "session", digest), "user")
        self.r.delete(self._k("staff", "session", digest))
        if user:
            self.r.srem(self._k("staff", "sessions", user.decode()), digest)

    def drop_sessions_of(self, username: str) -> int:
        index = self._k("staff", "sessions", username)
        digests = [d.decode() for d in self.r.smembers(index)]
        ended = sum(int(self.r.delete(self._k("staff", "session", d))) for d in digests)
        self.r.delete(index)
        return ended

    # bearer tokens ----------------------------------------------------------------------------------
    def save_api_token(self, digest: str, username: str, label: str, created_at: float) -> None:
        pipe = self.r.pipeline(transaction=True)
        pipe.hset(self._k("staff", "token", digest), mapping={"user": username, "label": label,
                                                              "created_at": repr(created_at)})
        pipe.sadd(self._k("staff", "tokens", username), digest)
        pipe.execute()

    def api_token_owner(self, digest: str) -> str | None:
        user = self.r.hget(self._k("staff", "token", digest), "user")
        return user.decode() if user else None

    def drop_api_tokens_of(self, username: str) -> int:
        index = self._k("staff", "tokens", username)
        digests = [d.decode() for d in self.r.smembers(index)]
        revoked = sum(int(self.r.delete(self._k("staff", "token", d))) for d in digests)
        self.r.delete(index)
        return revoked

    # failed sign-ins ----------------------------------------------------------------------------------
    def failed_sign_in(self, username: str, window_s: float) -> int:
        key = self._k("staff", "failed", username[:64])
        count = int(self.r.incr(key))
        if count == 1:  # the window starts at the first failure
            self.r.expire(key, int(window_s))
        return count

    def failed_sign_ins(self, username: str) -> int:
        return int(self.r.get(self._k("staff", "failed", username[:64])) or 0)

    def clear_failed_sign_ins(self, username: str) -> None:
        self.r.delete(self._k("staff", "failed", username[:64]))

    # audit log ------------------------------------------------------------------------------------
    def audit(self, entry: dict[str, Any]) -> None:
        self.r.xadd(self._k("audit"), {"entry": json.dumps(entry, default=str)}, maxlen=AUDIT_KEEP,
                    approximate=True)

    def audit_log(self, limit: int) -> list[dict[str, Any]]:
        return [json.loads(f[b"entry"]) for _, f in self.r.xrevrange(self._k("audit"), count=limit)]
