"""Named staff accounts: who may sign in to the ops page, who holds a bearer token for the ops API, and
the audit log of what each of them did.

- Passwords are hashed with argon2id (argon2-cffi's defaults); the hash, never the password, is stored.
- A sign-in starts a server-side session: a random token in the browser's cookie, only its SHA-256 in the
  store, with an idle and an absolute expiry. Disabling a person ends every session and token they hold.
- The ops API takes bearer tokens, one per person or service, issued by `superbill users token`; only
  their SHA-256 is stored.
- Every sign-in (good or bad), sign-out, account change, amendment, resubmission and replay is one line
  of the audit log, with the person's name. Audit lines name claims, never patient data.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import time
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

Kind = Literal["person", "service"]
USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{1,31}$")
MIN_PASSWORD_LENGTH = 12
TOKEN_PREFIX = "sbo_"  # noqa: S105 - a prefix that names our tokens, not a secret
FAILED_SIGN_INS_ALLOWED = 10
FAILED_SIGN_IN_WINDOW_S = 15 * 60

_hasher = PasswordHasher()
# verified against when the name is unknown, so a wrong name takes as long as a wrong password
_DUMMY_HASH = _hasher.hash(secrets.token_hex(16))


class StaffError(ValueError):
    """An account request that cannot be done; the message says why (never a password)."""


@dataclass(frozen=True)
class StaffUser:
    username: str
    name: str
    kind: Kind = "person"
    password_hash: str | None = None
    disabled: bool = False
    created_at: float = 0.0

    def public(self) -> dict[str, Any]:
        return {"username": self.username, "name": self.name, "kind": self.kind, "disabled": self.disabled,
                "created_at": self.created_at, "can_sign_in": self.kind == "person" and not self.disabled}


@dataclass(frozen=True)
class Actor:
    """Who did something, as the timeline and the audit log name them."""

    username: str
    name: str
    via: str  # "ops page", "api", "cli"

    @property
    def label(self) -> str:
        return f"{self.name} ({self.username})"


SHARED_TOKEN_ACTOR = Actor("ops-token", "shared ops token", "api")


@dataclass(frozen=True)
class StaffSession:
    username: str
    csrf: str
    created_at: float
    expires_at: float  # absolute; the idle expiry is the store's time to live
    flash: list[str] = field(default_factory=list)


class StaffStore(Protocol):
    """Where accounts, sessions, tokens and the audit log are kept (Redis in production)."""

    def add_user(self, user: StaffUser) -> bool:
        """False when the name is taken."""
        ...

    def get_user(self, username: str) -> StaffUser | None: ...

    def list_users(self) -> list[StaffUser]: ...

    def set_user(self, user: StaffUser) -> None: ...

    def save_session(self, digest: str, session: StaffSession, ttl_s: float) -> None: ...

    def load_session(self, digest: str, idle_s: float | None) -> StaffSession | None:
        """The session, its idle expiry pushed back `idle_s` (None: left as it is); None when it ran out or was
        ended."""
        ...

    def drop_session(self, digest: str) -> None: ...

    def drop_sessions_of(self, username: str) -> int: ...

    def set_flash(self, digest: str, messages: list[str]) -> None: ...

    def save_api_token(self, digest: str, username: str, label: str, created_at: float) -> None: ...

    def api_token_owner(self, digest: str) -> str | None: ...

    def drop_api_tokens_of(self, username: str) -> int: ...

    def failed_sign_in(self, username: str, window_s: float) -> int:
        """Count one failed sign-in for the name; the count of the current window."""
        ...

    def failed_sign_ins(self, username: str) -> int: ...

    def clear_failed_sign_ins(self, username: str) -> None: ...

    def audit(self, entry: dict[str, Any]) -> None: ...

    def audit_log(self, limit: int) -> list[dict[str, Any]]:
        """The newest entries first."""
        ...


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def audit(store: StaffStore, action: str, actor: Actor | None, **detail: Any) -> None:
    store.audit({"at": time.time(), "action": action,
                 **({"by": actor.username, "name": actor.name, "via": actor.via} if actor else {}),
                 **{k: v for k, v in detail.items() if v is not None}})


# accounts ---------------------------------------------------------------------------------------------
def check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise StaffError(f"the password must have at least {MIN_PASSWORD_LENGTH} characters")
    if password != password.strip():
        raise StaffError("the password must not start or end with a space")


def check_new_user(store: StaffStore, username: str, name: str) -> None:
    """StaffError when an account cannot be added under this name: said before a password is asked for."""
    if not USERNAME.match(username):
        raise StaffError("a user name is 2-32 characters: lower-case letters, digits, '.', '_' or '-', "
                         "starting with a letter or digit")
    if not name.strip():
        raise StaffError("the person's name (--name) must not be empty")
    if store.get_user(username) is not None:
        raise StaffError(f"user {username} exists already")


def add_user(store: StaffStore, username: str, name: str, *, password: str | None, kind: Kind = "person",
             actor: Actor | None = None) -> StaffUser:
    check_new_user(store, username, name)
    if kind == "person":
        if password is None:
            raise StaffError("a person needs a password")
        check_password(password)
    elif password is not None:
        raise StaffError("a service account has no password; it uses a bearer token")
    user = StaffUser(username=username, name=name.strip(), kind=kind,
                     password_hash=_hasher.hash(password) if password is not None else None,
                     created_at=time.time())
    if not store.add_user(user):
        raise StaffError(f"user {username} exists already")
    audit(store, "user.added", actor, user=username, kind=kind)
    return user


def set_password(store: StaffStore, username: str, password: str, *, actor: Actor | None = None) -> None:
    user = _existing(store, username)
    if user.kind != "person":
        raise StaffError(f"{username} is a service account; it has no password")
    check_password(password)
    store.set_user(StaffUser(**{**user.__dict__, "password_hash": _hasher.hash(password)}))
    ended = store.drop_sessions_of(username)
    audit(store, "user.password_set", actor, user=username, sessions_ended=ended)


def disable_user(store: StaffStore, username: str, *, actor: Actor | None = None) -> dict[str, int]:
    """The account can no longer sign in; its sessions and bearer tokens stop working at once."""
    user = _existing(store, username)
    store.set_user(StaffUser(**{**user.__dict__, "disabled": True}))
    ended = {"sessions_ended": store.drop_sessions_of(username),
             "tokens_revoked": store.drop_api_tokens_of(username)}
    audit(store, "user.disabled", actor, user=username, **ended)
    return ended


def enable_user(store: StaffStore, username: str, *, actor: Actor | None = None) -> None:
    user = _existing(store, username)
    store.set_user(StaffUser(**{**user.__dict__, "disabled": False}))
    audit(store, "user.enabled", actor, user=username)


def issue_api_token(store: StaffStore, username: str, *, label: str = "", actor: Actor | None = None) -> str:
    """A new bearer token for the ops API, shown once; only its SHA-256 is kept."""
    user = _existing(store, username)
    if user.disabled:
        raise StaffError(f"{username} is disabled")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    store.save_api_token(digest(token), username, label, time.time())
    audit(store, "token.issued", actor, user=username, label=label or None)
    return token


def _existing(store: StaffStore, username: str) -> StaffUser:
    user = store.get_user(username)
    if user is None:
        raise StaffError(f"no user {username}")
    return user


# signing in -------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class SignIn:
    token: str | None  # the session token for the cookie, when signed in
    user: StaffUser | None
    message: str = ""


def sign_in(store: StaffStore, username: str, password: str, *, idle_s: float, max_s: float) -> SignIn:
    """Check the name and password; start a session. Too many failures lock the name for a while."""
    username = username.strip().lower()
    if store.failed_sign_ins(username) >= FAILED_SIGN_INS_ALLOWED:
        audit(store, "sign_in.locked", None, user=username)
        return SignIn(None, None, "Too many failed attempts for this name; try again in 15 minutes.")
    user = store.get_user(username) if USERNAME.match(username) else None
    ok = _verify(user.password_hash if user and user.password_hash else _DUMMY_HASH, password)
    if user is None or user.disabled or user.kind != "person" or not ok:
        store.failed_sign_in(username, FAILED_SIGN_IN_WINDOW_S)
        audit(store, "sign_in.failed", None, user=username,
              reason="disabled" if user is not None and user.disabled and ok else "wrong name or password")
        return SignIn(None, None, "That name and password do not match an active account.")
    store.clear_failed_sign_ins(username)
    if _hasher.check_needs_rehash(user.password_hash or ""):
        store.set_user(StaffUser(**{**user.__dict__, "password_hash": _hasher.hash(password)}))
    token = secrets.token_urlsafe(32)
    now = time.time()
    store.save_session(digest(token), StaffSession(username=user.username, csrf=secrets.token_urlsafe(32),
                                                   created_at=now, expires_at=now + max_s), min(idle_s, max_s))
    audit(store, "sign_in", Actor(user.username, user.name, "ops page"))
    return SignIn(token, user)


def _verify(hashed: str, password: str) -> bool:
    try:
        return bool(_hasher.verify(hashed, password))
    except (VerificationError, InvalidHashError):
        return False


@dataclass(frozen=True)
class Signed:
    """A live session and its person."""

    session: StaffSession
    user: StaffUser
    digest: str

    @property
    def actor(self) -> Actor:
        return Actor(self.user.username, self.user.name, "ops page")


def current(store: StaffStore, token: str | None, *, idle_s: float, touch: bool = True) -> Signed | None:
    """The session of a cookie's token, if it is live and its person still active. A request the person made
    (`touch`) keeps it alive; one a page makes by itself (the overview's refresh) does not, so a screen left
    open still ends its session when the person is away."""
    if not token:
        return None
    key = digest(token)
    session = store.load_session(key, idle_s if touch else None)
    if session is None:
        return None
    user = store.get_user(session.username)
    if session.expires_at <= time.time() or user is None or user.disabled:
        store.drop_session(key)
        return None
    return Signed(session, user, key)


def sign_out(store: StaffStore, signed: Signed) -> None:
    store.drop_session(signed.digest)
    audit(store, "sign_out", signed.actor)


def token_actor(store: StaffStore, token: str | None) -> Actor | None:
    """The person or service a bearer token was issued to, if the token and its owner are active."""
    if not token or not token.startswith(TOKEN_PREFIX):
        return None
    owner = store.api_token_owner(digest(token))
    user = store.get_user(owner) if owner else None
    if user is None or user.disabled:
        return None
    return Actor(user.username, user.name, "api")
