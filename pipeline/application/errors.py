"""One exception tree: retry a TransientError, never a PermanentError."""

from __future__ import annotations


class PipelineError(Exception):
    """Base of every error the pipeline raises on purpose."""


class TransientError(PipelineError):
    """Worth retrying: a peer or Redis could not be reached, timed out, or answered 5xx/429."""


class PermanentError(PipelineError):
    """Not worth retrying: the input or the peer's answer says no."""


class PeerUnavailable(TransientError):
    def __init__(self, peer: str, detail: str, *, answered: bool = False) -> None:
        super().__init__(f"{peer}: {detail}")
        self.peer = peer
        self.detail = detail
        self.answered = answered  # the peer itself said "not now" (it did not take the request)


class PeerRefused(PermanentError):
    """The peer answered a 4xx other than 429: recorded with its reasons, resubmittable after a fix."""

    def __init__(self, peer: str, status: int, reasons: list[str]) -> None:
        super().__init__(f"{peer} answered {status}: {'; '.join(reasons) or 'no reason given'}")
        self.peer = peer
        self.status = status
        self.reasons = reasons


class DocumentError(PermanentError):
    """The claim's document (837P, PDF, payload) cannot be built from its data: a person must fix it."""


class SubmissionUnknown(PermanentError):
    """The peer may hold this submission, but neither asking nor sending again can tell without risking a
    second claim (a key past the peer's replay window, a key the peer took with another body). The claim
    waits for ops, with this message as its reason; nothing is sent."""
