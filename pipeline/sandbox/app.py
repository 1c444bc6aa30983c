"""The sandbox peers' HTTP app: a clearinghouse and a billing service in one FastAPI app.

Peer routes (faults apply to these):

- ``POST /clearinghouse/v1/claims`` (raw 837P), ``GET /clearinghouse/v1/claims/by-key/{key}``
- ``POST /billing/v1/superbills`` (JSON), ``GET /billing/v1/superbills/by-key/{key}``
- ``GET /clearinghouse/v1/remittances?after=<cursor>&limit=<n>``: the 835 files written since the cursor
- Stedi's shape (``pipeline.sandbox.stedi``): ``POST /stedi/healthcare/2024-04-01/change/medicalnetwork/
  professionalclaims/v3/raw-x12-submission``, ``GET /stedi/core/2023-08-01/polling/transactions``,
  ``GET /stedi/core/2023-08-01/transactions/{id}/input-url``; documents at ``/stedi/documents/{id}`` (no key)

Every peer call needs ``Authorization: Bearer <token>`` with that peer's token (``PeerTokens``: by default
``sandbox``, the pipeline's default; ``superbill sandbox`` reads ``SUPERBILL_CLEARINGHOUSE_TOKEN`` and
``SUPERBILL_BILLING_SERVICE_TOKEN``); any other token is answered ``401``. Every POST also needs
``Idempotency-Key``.

Control routes (never faulted): ``GET /_sandbox/receipts``, ``GET /_sandbox/submissions``,
``GET|PUT /_sandbox/faults``, ``POST /_sandbox/reset``, ``GET /healthz``; with the sandbox mail server
(``smtp``): ``GET /_sandbox/mail``, ``PUT /_sandbox/mail/faults``, ``POST /_sandbox/mail/reset``;
``POST /_sandbox/remittances/reverse`` (``{"claim_id": ...}``: take its last payment back in the next 835),
``POST /_sandbox/remittances/redeliver`` (``{"remittance_id": ...}``: deliver an 835 a second time).
"""

from __future__ import annotations

import hmac
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import structlog
import uvicorn
from fastapi import Body, Depends, FastAPI, Request
from fastapi.responses import JSONResponse, Response

from pipeline.sandbox.billing import BillingService
from pipeline.sandbox.clearinghouse import Clearinghouse, Validator
from pipeline.sandbox.faults import Faults, parse_faults
from pipeline.sandbox.smtp import Mailbox, SandboxMailServer, parse_mail_faults
from pipeline.sandbox.state import Answer, JSONDict, SandboxState
from pipeline.sandbox.stedi import StediPeer
from pipeline.sandbox.stedi_webhooks import WebhookSender

log = structlog.get_logger("pipeline.sandbox")

MAX_KEY_LENGTH = 255
STEDI_HEALTHCARE = "/stedi/healthcare/2024-04-01"
STEDI_CORE = "/stedi/core/2023-08-01"
DEFAULT_TOKEN = "sandbox"  # noqa: S105 - the pipeline's default peer token (SUPERBILL_*_TOKEN unset), not a secret


@dataclass(frozen=True)
class PeerTokens:
    """The bearer token each sandbox peer requires, as the pipeline is configured to send it."""

    clearinghouse: str = DEFAULT_TOKEN
    billing_service: str = DEFAULT_TOKEN
    stedi: str | None = None  # the Stedi shape's API key; None: any key (one starting "test" is a test key)

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> PeerTokens:
        """The same variables, and the same defaults, the pipeline's settings read."""
        return cls(clearinghouse=env.get("SUPERBILL_CLEARINGHOUSE_TOKEN") or DEFAULT_TOKEN,
                   billing_service=env.get("SUPERBILL_BILLING_SERVICE_TOKEN") or DEFAULT_TOKEN,
                   stedi=env.get("SUPERBILL_STEDI_API_KEY") or None)

    def of(self, peer: str) -> str:
        return self.clearinghouse if peer == "clearinghouse" else self.billing_service


async def raw_body(request: Request) -> bytes:
    """The request body as sent (read in the event loop, so endpoints can stay plain ``def``)."""
    return await request.body()


def _json(answer: Answer) -> JSONResponse:
    return JSONResponse(answer.body, status_code=answer.status_code, headers=answer.headers or None)


def _default_validator() -> Validator:
    from pipeline.documents.x12_validation import validate_837p

    return validate_837p


def _auth_problem(request: Request, expected: str) -> Answer | None:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(token.strip().encode(), expected.encode()):
        return Answer(
            401,
            {"error": "missing or invalid bearer token"},
            {"WWW-Authenticate": 'Bearer realm="sandbox"'},
        )
    return None


def _stedi_key(request: Request) -> tuple[str, Answer | None]:
    """Stedi's `Authorization: <API key>` (or `Key <API key>`); a bearer token is not an API key."""
    value = request.headers.get("authorization", "").strip()
    scheme, _, rest = value.partition(" ")
    if scheme.lower() == "key" and rest.strip():
        value = rest.strip()
    if not value or scheme.lower() == "bearer" or " " in value:
        return "", Answer(401, {"code": "UnauthorizedException", "message": "Authorization: <API key> required"})
    return value, None


def _key_problem(key: str | None) -> Answer | None:
    if key is None or not key.strip():
        return Answer(400, {"error": "Idempotency-Key header required"})
    if len(key) > MAX_KEY_LENGTH or not key.isprintable():
        message = f"Idempotency-Key must be printable and at most {MAX_KEY_LENGTH} characters"
        return Answer(400, {"error": message})
    return None


class _PeerCalls:
    """Latency, authentication, and the error and timeout faults around every peer call."""

    def __init__(self, state: SandboxState, tokens: PeerTokens,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self._state = state
        self._tokens = tokens
        self._sleep = sleep

    def post(self, peer: str, request: Request, handle: Callable[[str], Answer]) -> JSONResponse:
        faults = self._state.faults
        self._sleep_ms(faults.latency_ms)
        problem = _auth_problem(request, self._tokens.of(peer))
        key = request.headers.get("idempotency-key")
        problem = problem or _key_problem(key)
        if problem is not None:
            return _json(problem)
        assert key is not None
        return self._faulted(peer, key, lambda: handle(key))

    def stedi(self, request: Request, handle: Callable[[str], Answer], *, key: str = "") -> JSONResponse:
        """A call to the Stedi shape: latency, its API key, then the error and timeout faults."""
        self._sleep_ms(self._state.faults.latency_ms)
        api_key, problem = _stedi_key(request)
        if problem is None and self._tokens.stedi is not None and api_key != self._tokens.stedi:
            problem = Answer(401, {"code": "UnauthorizedException", "message": "unknown API key"})
        if problem is not None:
            return _json(problem)
        return self._faulted("stedi", key, lambda: handle(api_key))

    def get(self, peer: str, request: Request, key: str, handle: Callable[[str], Answer]) -> JSONResponse:
        self._sleep_ms(self._state.faults.latency_ms)
        problem = _auth_problem(request, self._tokens.of(peer))
        if problem is not None:
            return _json(problem)
        return self._faulted(peer, key, lambda: handle(key))

    def _faulted(self, peer: str, key: str, handle: Callable[[], Answer]) -> JSONResponse:
        with self._state.lock:
            faults, dice = self._state.faults, self._state.dice
            error = dice.error_answer() if dice.roll(faults.error_rate) else None
            hang = dice.roll(faults.timeout_rate)
        if error is not None:
            status_code, headers = error
            log.info("sandbox.fault.error", peer=peer, idempotency_key=key, status_code=status_code)
            return _json(Answer(status_code, {"error": "temporarily unavailable, try again"}, headers))
        answer = handle()
        if hang:
            log.info("sandbox.fault.hang", peer=peer, idempotency_key=key, hang_ms=faults.hang_ms)
            self._sleep_ms(faults.hang_ms)
        return _json(answer)

    def _sleep_ms(self, ms: int) -> None:
        if ms > 0:
            self._sleep(ms / 1000.0)


def _faults_view(faults: Faults) -> JSONDict:
    return {"spec": faults.to_spec(), "faults": faults.as_dict()}


def create_app(faults: Faults | None = None, *, validate_837p: Validator | None = None,
               tokens: PeerTokens | None = None, mailbox: Mailbox | None = None,
               stedi_webhook: tuple[str, str] | None = None) -> FastAPI:
    """Both sandbox peers, with their own in-memory state, the given faults and the tokens they require.

    ``validate_837p`` is the 999 check (default: ``pipeline.documents.x12_validation.validate_837p``).
    ``stedi_webhook`` (URL, ``whsec_...`` secret): the Stedi shape delivers a signed event for each transaction
    it processes, while the app runs (``pipeline.sandbox.stedi_webhooks``).
    """
    state = SandboxState(faults if faults is not None else Faults())
    clearinghouse = Clearinghouse(state, validate_837p or _default_validator())
    stedi = StediPeer(state, validate_837p or _default_validator(),
                      remittances=lambda after: list(clearinghouse.remittances(after, 500).body["remittances"]))
    billing = BillingService(state)
    calls = _PeerCalls(state, tokens or PeerTokens())

    app = FastAPI(title="superbill sandbox peers", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.sandbox = state
    if stedi_webhook is not None:
        sender = WebhookSender(url=stedi_webhook[0], secret=stedi_webhook[1], publish=stedi.publish_due)
        app.router.on_startup.append(sender.start)
        app.router.on_shutdown.append(sender.stop)
        app.state.stedi_webhooks = sender

    @app.post("/clearinghouse/v1/claims")
    def submit_claim(request: Request, body: bytes = Depends(raw_body)) -> JSONResponse:
        return calls.post("clearinghouse", request, lambda key: clearinghouse.submit(key, body))

    @app.get("/clearinghouse/v1/claims/by-key/{idempotency_key:path}")
    def claim_by_key(request: Request, idempotency_key: str) -> JSONResponse:
        return calls.get("clearinghouse", request, idempotency_key, clearinghouse.status)

    @app.post(STEDI_HEALTHCARE + "/change/medicalnetwork/professionalclaims/v3/raw-x12-submission")
    def stedi_submit(request: Request, body: bytes = Depends(raw_body)) -> JSONResponse:
        key = request.headers.get("idempotency-key")
        if key is not None and (not key or len(key) > MAX_KEY_LENGTH):
            return _json(Answer(400, {"code": "ValidationException",
                                      "message": f"Idempotency-Key must be 1 to {MAX_KEY_LENGTH} characters"}))
        return calls.stedi(request, lambda api_key: stedi.submit(api_key, key, body), key=key or "")

    @app.get(STEDI_CORE + "/polling/transactions")
    def stedi_poll(request: Request, pageToken: str | None = None, startDateTime: str | None = None,
                   pageSize: int = 100) -> JSONResponse:
        return calls.stedi(request, lambda _: stedi.poll(pageToken, startDateTime, pageSize))

    @app.get(STEDI_CORE + "/transactions/{transaction_id}/input-url")
    def stedi_input_url(request: Request, transaction_id: str) -> JSONResponse:
        def handle(_: str) -> Answer:
            if stedi.document(transaction_id) is None:
                return Answer(404, {"code": "ResourceNotFoundException", "message": "no such transaction"})
            url = str(request.base_url).rstrip("/") + f"/stedi/documents/{transaction_id}"
            return Answer(200, {"documentDownloadUrl": url})
        return calls.stedi(request, handle)

    @app.get("/stedi/documents/{transaction_id}")
    def stedi_document(transaction_id: str) -> Response:
        text = stedi.document(transaction_id)
        if text is None:
            return Response("not found", status_code=404)
        return Response(text, media_type="application/edi-x12")

    @app.post("/billing/v1/superbills")
    def submit_superbill(request: Request, body: bytes = Depends(raw_body)) -> JSONResponse:
        return calls.post("billing_service", request, lambda key: billing.submit(key, body))

    @app.get("/billing/v1/superbills/by-key/{idempotency_key:path}")
    def superbill_by_key(request: Request, idempotency_key: str) -> JSONResponse:
        return calls.get("billing_service", request, idempotency_key, billing.status)

    @app.get("/clearinghouse/v1/remittances")
    def remittance_feed(request: Request, after: str | None = None, limit: int = 100) -> JSONResponse:
        return calls.get("clearinghouse", request, f"remittances:{after}",
                         lambda _key: clearinghouse.remittances(after, limit))

    @app.post("/_sandbox/remittances/reverse")
    def reverse(payload: JSONDict = Body(...)) -> JSONResponse:  # noqa: B008
        return _json(clearinghouse.reverse(str(payload.get("claim_id"))))

    @app.post("/_sandbox/remittances/redeliver")
    def redeliver(payload: JSONDict = Body(...)) -> JSONResponse:  # noqa: B008
        return _json(clearinghouse.redeliver(str(payload.get("remittance_id"))))

    @app.get("/_sandbox/receipts")
    def receipts() -> dict[str, int]:
        return state.receipts()

    @app.get("/_sandbox/submissions")
    def submissions() -> JSONDict:
        return state.submissions()

    @app.get("/_sandbox/faults")
    def get_faults() -> JSONDict:
        return _faults_view(state.faults)

    @app.put("/_sandbox/faults", response_model=None)
    def put_faults(payload: JSONDict = Body(...)) -> JSONDict | JSONResponse:  # noqa: B008
        spec = payload.get("spec")
        if not isinstance(spec, str):
            return JSONResponse({"error": 'body must be {"spec": "key=value,..."}'}, status_code=422)
        try:
            new = parse_faults(spec)
        except ValueError as exc:
            return JSONResponse({"error": str(exc)}, status_code=422)
        state.set_faults(new)
        log.info("sandbox.faults.set", spec=new.to_spec())
        return _faults_view(new)

    @app.post("/_sandbox/reset")
    def reset() -> JSONDict:
        state.reset()
        log.info("sandbox.reset")
        return {"status": "reset", **_faults_view(state.faults)}

    @app.get("/healthz")
    def healthz() -> JSONDict:
        return {"status": "ok"}

    box = mailbox or Mailbox()

    @app.get("/_sandbox/mail")
    def mail() -> JSONDict:
        return box.view()

    @app.put("/_sandbox/mail/faults", response_model=None)
    def put_mail_faults(payload: JSONDict = Body(...)) -> JSONDict | JSONResponse:  # noqa: B008
        spec = payload.get("spec")
        if not isinstance(spec, str):
            return JSONResponse({"error": 'body must be {"spec": "key=value,..."}'}, status_code=422)
        try:
            box.set_faults(parse_mail_faults(spec))
        except ValueError as exc:
            return JSONResponse({"error": str(exc)}, status_code=422)
        log.info("sandbox.mail_faults.set", spec=box.faults.to_spec())
        return {"spec": box.faults.to_spec()}

    @app.post("/_sandbox/mail/reset")
    def reset_mail() -> JSONDict:
        box.reset()
        return {"status": "reset"}

    return app


def serve(host: str = "127.0.0.1", port: int = 8100, faults_spec: str = "",
          tokens: PeerTokens | None = None, *, smtp_port: int | None = None,
          mail_faults_spec: str = "", stedi_webhook: tuple[str, str] | None = None) -> None:
    """Serve both peers until interrupted (``superbill sandbox``), and the sandbox mail server when
    ``smtp_port`` is given. A bad spec raises ValueError."""
    faults = parse_faults(faults_spec)
    box = Mailbox(parse_mail_faults(mail_faults_spec))
    log.info("sandbox.start", host=host, port=port, faults=faults.to_spec())
    mail_server = SandboxMailServer(box, host=host, port=smtp_port).start() if smtp_port is not None else None
    try:
        uvicorn.run(create_app(faults, tokens=tokens, mailbox=box, stedi_webhook=stedi_webhook), host=host,
                    port=port, log_level="info")
    finally:
        if mail_server is not None:
            mail_server.stop()
