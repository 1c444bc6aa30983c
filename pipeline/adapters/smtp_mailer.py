"""The `StatementMailer` port over SMTP with the standard library's `smtplib`.

TLS: `starttls` (the submission port 587, the default), `tls` (implicit TLS, port 465) or `none` (only for a
server on loopback, such as the sandbox). The certificate is checked against the system's trust store
(`SUPERBILL_SMTP_CA_FILE` adds a CA). Credentials come from the environment (`config.settings`).

A worker thread keeps its connection open for the next statement (up to `KEEP_OPEN_S` idle), so a run of
e-mails costs one connection, greeting and TLS handshake, not one each. A kept connection the server has closed
meanwhile is noticed at MAIL FROM, before any part of the message is sent, and replaced by a new one; a
connection whose transaction failed in any way is closed, never reused.

SMTP has no idempotency key. The message is sent by hand (MAIL, RCPT, DATA, the message, then the final
end-of-data mark) so that the caller can record, just before that mark, that the server now holds the whole
message: a connection lost before it makes the server discard the transaction (RFC 5321 section 4.1.1.4),
after it the message may have been taken. Answers 4xx and lost connections are worth another try (raised as
`PeerUnavailable`); 5xx answers are final (`PeerRefused`). Error texts never carry the client's address.
"""

from __future__ import annotations

import re
import smtplib
import ssl
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from email import charset as email_charset
from email.header import Header
from email.message import Message
from email.mime.application import MIMEApplication
from email.mime.multipart import MIMEMultipart
from email.mime.nonmultipart import MIMENonMultipart
from email.policy import compat32
from email.utils import format_datetime, formataddr, parseaddr
from typing import Literal

from pipeline.application.errors import PeerRefused, PeerUnavailable
from pipeline.application.ports import StatementMail

Security = Literal["starttls", "tls", "none"]
PEER = "smtp"
_ADDRESS = re.compile(r"<?[^\s<>@]+@[^\s<>@]+>?")
_LEADING_DOT = re.compile(rb"(?m)^\.")


# How long a worker thread keeps an idle connection for its next statement. Servers may close an idle session
# after a few minutes (RFC 5321 section 4.5.3.2 asks them to wait at least 5); this stays well inside that.
KEEP_OPEN_S = 30.0


def redact(text: str) -> str:
    """The text with every e-mail address replaced (servers echo the recipient in their answers)."""
    return _ADDRESS.sub("<address>", text)


# The message is put together with the email package's classic classes (policy compat32): the same MIME
# structure as `EmailMessage` writes, at a fraction of the cost of its header registry. Headers that are not
# ASCII are encoded (RFC 2047, RFC 2231 for the file name) by hand; the body is quoted-printable UTF-8, which
# leaves ASCII text as it is.
_SMTP_LINES = compat32.clone(linesep="\r\n")
_UTF8_QP = email_charset.Charset("utf-8")
_UTF8_QP.body_encoding = email_charset.QP


def _header(name: str, value: str) -> str | Header:
    return value if value.isascii() else Header(value, "utf-8", header_name=name)


def _address(value: str) -> str:
    name, address = parseaddr(value)
    return value if value.isascii() or not address else formataddr((name, address), charset="utf-8")


def build_message(mail: StatementMail, sender: str) -> Message:
    msg = MIMEMultipart("mixed", policy=_SMTP_LINES)
    msg["From"] = _address(sender)
    msg["To"] = _address(mail.to)
    msg["Subject"] = _header("Subject", mail.subject)  # type: ignore[assignment]  # compat32 takes a Header too
    msg["Date"] = format_datetime(datetime.now(UTC))
    msg["Message-ID"] = mail.message_id
    text = MIMENonMultipart("text", "plain")
    text.set_payload(mail.body, _UTF8_QP)
    pdf = MIMEApplication(mail.pdf, "pdf")
    name = mail.attachment_name
    pdf.add_header("Content-Disposition", "attachment", filename=name if name.isascii() else ("utf-8", "", name))
    for part in (text, pdf):
        del part["MIME-Version"]  # once, at the top
        msg.attach(part)
    return msg


class SmtpMailer:
    name = PEER

    def __init__(self, *, host: str, port: int, sender: str, security: Security = "starttls",
                 username: str | None = None, password: str | None = None, timeout_s: float = 30.0,
                 ca_file: str | None = None) -> None:
        self.host, self.port, self.sender, self.security = host, port, sender, security
        self.username, self.password, self.timeout_s, self.ca_file = username, password, timeout_s, ca_file
        self._kept = threading.local()  # each thread's open connection and when it was last used

    def _tls(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=self.ca_file)

    def _connect(self) -> smtplib.SMTP:
        if self.security == "tls":
            smtp: smtplib.SMTP = smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout_s, context=self._tls())
        else:
            smtp = smtplib.SMTP(self.host, self.port, timeout=self.timeout_s)
        try:
            smtp.ehlo()
            if self.security == "starttls":
                smtp.starttls(context=self._tls())
                smtp.ehlo()
            if self.username:
                smtp.login(self.username, self.password or "")
        except BaseException:
            smtp.close()
            raise
        return smtp

    def _kept_connection(self) -> smtplib.SMTP | None:
        """This thread's connection from its last statement, if it has been idle less than `KEEP_OPEN_S`."""
        kept: tuple[smtplib.SMTP, float] | None = getattr(self._kept, "connection", None)
        self._kept.connection = None
        if kept is None:
            return None
        smtp, last_used = kept
        if time.monotonic() - last_used < KEEP_OPEN_S:
            return smtp
        _close(smtp)
        return None

    def _begin(self) -> smtplib.SMTP:
        """A connection with the sender given (MAIL FROM accepted): the kept one while the server still has
        it, else a new one. Nothing of the message has been sent yet, so replacing a dropped one is safe."""
        smtp = self._kept_connection()
        if smtp is not None:
            try:
                reply = smtp.mail(self.sender)
            except (smtplib.SMTPServerDisconnected, OSError):
                reply = (421, b"")
            if reply[0] != 421:  # 421: the server is closing this session
                try:
                    _expect(reply, (250,), "MAIL FROM")
                except BaseException:
                    _close(smtp)
                    raise
                return smtp
            _close(smtp)
        smtp = self._connect()
        try:
            _expect(smtp.mail(self.sender), (250,), "MAIL FROM")
        except BaseException:
            _close(smtp)
            raise
        return smtp

    def send(self, mail: StatementMail, *, before_commit: Callable[[], None] | None = None) -> None:
        data = build_message(mail, self.sender).as_bytes()
        if not data.endswith(b"\r\n"):
            data += b"\r\n"
        try:
            smtp = self._begin()
            try:
                _expect(smtp.rcpt(mail.to), (250, 251), "RCPT TO")
                _expect(smtp.docmd("DATA"), (354,), "DATA")
                smtp.send(_LEADING_DOT.sub(b"..", data))
                if before_commit is not None:
                    before_commit()
                smtp.send(b".\r\n")
                _expect(smtp.getreply(), (250,), "end of data")
            except BaseException:
                _close(smtp)
                raise
            self._kept.connection = (smtp, time.monotonic())  # the transaction is over: ready for the next
        except smtplib.SMTPResponseException as exc:
            _raise_for(exc.smtp_code, _text(exc.smtp_error), "")
        except smtplib.SMTPNotSupportedError as exc:
            raise PeerRefused(PEER, 0, [redact(str(exc))]) from None
        except (smtplib.SMTPException, OSError) as exc:
            raise PeerUnavailable(PEER, redact(f"{type(exc).__name__}: {exc}")) from None


def _close(smtp: smtplib.SMTP) -> None:
    try:
        smtp.quit()
    except (smtplib.SMTPException, OSError):
        smtp.close()


def _expect(reply: tuple[int, bytes], codes: tuple[int, ...], step: str) -> None:
    code, message = reply
    if code not in codes:
        _raise_for(code, _text(message), step)


def _text(message: bytes | str) -> str:
    return message.decode(errors="replace") if isinstance(message, bytes) else str(message)


def _raise_for(code: int, message: str, step: str) -> None:
    where = f" to {step}" if step else ""
    detail = redact(f"the mail server answered {code}{where}: {message}".strip())
    if 400 <= code < 500:
        raise PeerUnavailable(PEER, detail, answered=True)
    if code < 400:
        raise PeerUnavailable(PEER, detail)
    raise PeerRefused(PEER, code, [detail])
