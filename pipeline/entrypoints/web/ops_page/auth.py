"""Who is at the ops page, and whether a form post may be trusted.

- A person signs in with their own name and password; the browser keeps only a random session token in
  the `superbill_ops` cookie (HttpOnly, SameSite=Strict, path /ops, `Secure` when the page is served over
  HTTPS); the session itself lives on the server and expires when idle, at the latest after its maximum.
- An `Authorization: Bearer` header (a named token, or the shared ops token of the contract) is also
  accepted: a browser never adds that header by itself, so such requests need no CSRF token.
- Every form post of a signed-in browser must carry the session's CSRF token and come from the page's own
  origin (the `Origin` header, else the `Referer`'s origin). The origin is `SUPERBILL_PUBLIC_URL` when set,
  else the scheme and `Host` of the request (behind a proxy: uvicorn takes the scheme from
  `X-Forwarded-Proto` of a trusted proxy, `FORWARDED_ALLOW_IPS`).
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from fastapi import Request
from fastapi.responses import Response

from config.settings import Settings
from pipeline.application import staff
from pipeline.application.staff import Actor, Signed, StaffStore
from pipeline.entrypoints.web.ops_api import bearer, token_ok

COOKIE = "superbill_ops"
LOGIN_COOKIE = "superbill_login"  # a one-time CSRF value for the sign-in form (no session exists yet)
FLASH_ERROR = "!"


@dataclass(frozen=True)
class Who:
    actor: Actor
    signed: Signed | None = None  # None: a bearer header

    @property
    def csrf(self) -> str | None:
        return self.signed.session.csrf if self.signed else None


@dataclass(frozen=True)
class PageAuth:
    store: StaffStore | None
    ops_token: str | None
    public_url: str | None
    idle_s: float
    max_s: float

    @classmethod
    def from_settings(cls, store: StaffStore | None, settings: Settings) -> PageAuth:
        return cls(store, settings.ops_token, settings.public_url, settings.ops_session_idle_s,
                   settings.ops_session_max_s)

    def who(self, request: Request, *, touch: bool = True) -> Who | None:
        """Who made the request; `touch=False` for a request the page makes by itself (it does not keep an idle
        session alive)."""
        given = bearer(request)
        if given is not None:
            if token_ok(given, self.ops_token):
                return Who(Actor("ops-token", "shared ops token", "ops page"))
            actor = staff.token_actor(self.store, given) if self.store else None
            return Who(Actor(actor.username, actor.name, "ops page")) if actor else None
        if self.store is None:
            return None
        signed = staff.current(self.store, request.cookies.get(COOKIE), idle_s=self.idle_s, touch=touch)
        return Who(signed.actor, signed) if signed else None

    # origins and cookies ----------------------------------------------------------------------------
    def own_origin(self, request: Request) -> str:
        if self.public_url:
            return self.public_url.lower()
        return f"{request.url.scheme}://{request.headers.get('host', '')}".lower()

    def same_origin(self, request: Request) -> bool:
        origin = request.headers.get("origin")
        if not origin:
            referer = urlsplit(request.headers.get("referer") or "")
            origin = f"{referer.scheme}://{referer.netloc}" if referer.scheme and referer.netloc else ""
        return bool(origin) and origin.lower() != "null" and origin.lower() == self.own_origin(request)

    def secure(self, request: Request) -> bool:
        return (self.public_url or "").startswith("https://") or request.url.scheme == "https"

    def set_session_cookie(self, response: Response, request: Request, token: str) -> None:
        response.set_cookie(COOKIE, token, max_age=int(self.max_s), path="/ops", httponly=True,
                            samesite="strict", secure=self.secure(request))

    def clear_session_cookie(self, response: Response, request: Request) -> None:
        response.delete_cookie(COOKIE, path="/ops", httponly=True, samesite="strict", secure=self.secure(request))

    def login_csrf(self, request: Request, response: Response) -> str:
        value = request.cookies.get(LOGIN_COOKIE) or secrets.token_urlsafe(24)
        response.set_cookie(LOGIN_COOKIE, value, max_age=3600, path="/ops/login", httponly=True,
                            samesite="strict", secure=self.secure(request))
        return value

    # form posts -------------------------------------------------------------------------------------
    def post_refusal(self, request: Request, who: Who, form: Any) -> str | None:
        """Why a form post must be refused (cross-origin, missing or wrong CSRF token), or None."""
        if who.signed is None:
            return None
        if not self.same_origin(request):
            return "the form was not posted from this page's own origin"
        given = str(form.get("csrf") or "")
        if not given or not hmac.compare_digest(given.encode(), who.signed.session.csrf.encode()):
            return "the form's security token is missing or out of date; reload the page and try again"
        return None

    def login_refusal(self, request: Request, form: Any) -> str | None:
        if not self.same_origin(request):
            return "the form was not posted from this page's own origin"
        given, expected = str(form.get("csrf") or ""), request.cookies.get(LOGIN_COOKIE) or ""
        if not given or not expected or not hmac.compare_digest(given.encode(), expected.encode()):
            return "the sign-in form is out of date; reload the page and try again"
        return None

    # one-time messages --------------------------------------------------------------------------------
    def flash(self, who: Who, text: str, *, error: bool = False) -> None:
        if who.signed is not None and self.store is not None:
            self.store.set_flash(who.signed.digest, [*who.signed.session.flash, (FLASH_ERROR if error else "") + text])

    def take_flash(self, who: Who) -> tuple[str | None, bool]:
        if who.signed is None or self.store is None or not who.signed.session.flash:
            return None, False
        self.store.set_flash(who.signed.digest, [])
        messages = who.signed.session.flash
        error = any(m.startswith(FLASH_ERROR) for m in messages)
        return " ".join(m.removeprefix(FLASH_ERROR) for m in messages), error
