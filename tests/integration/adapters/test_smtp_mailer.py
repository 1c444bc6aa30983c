"""The SMTP adapter against the sandbox mail server over loopback: the message that arrives, the answers that
are worth a retry and those that are not, and the end-of-data mark sent only after `before_commit`."""

from __future__ import annotations

from collections.abc import Iterator
from email import message_from_bytes, policy

import pytest

from pipeline.adapters import smtp_mailer
from pipeline.adapters.smtp_mailer import SmtpMailer, build_message, redact
from pipeline.application.errors import PeerRefused, PeerUnavailable
from pipeline.application.ports import StatementMail
from pipeline.sandbox.smtp import Mailbox, SandboxMailServer, parse_mail_faults

PDF = b"%PDF-1.4\n.leading dot line\n%%EOF\n"


def mail(n: int = 1) -> StatementMail:
    return StatementMail(to="client@example.com", subject="Your statement", body="Hello,\n.\nA dot line.\n",
                         message_id=f"<statement.c{n}.1.SB-000001@sandbox.example>",
                         attachment_name="statement-SB-000001.pdf", pdf=PDF)


@pytest.fixture
def server() -> Iterator[SandboxMailServer]:
    srv = SandboxMailServer(Mailbox()).start()
    yield srv
    srv.stop()


def mailer(server: SandboxMailServer) -> SmtpMailer:
    return SmtpMailer(host="127.0.0.1", port=server.port, sender="statements@sandbox.example", security="none",
                      timeout_s=5)


def test_the_message_arrives_whole_with_its_message_id_and_pdf(server: SandboxMailServer) -> None:
    commits: list[int] = []
    mailer(server).send(mail(), before_commit=lambda: commits.append(len(server.box.messages)))

    view = server.box.view()
    assert commits == [0]  # nothing was taken before the end-of-data mark
    assert view["by_message_id"] == {"<statement.c1.1.SB-000001@sandbox.example>": 1}
    message = view["messages"][0]
    assert message["to"] == ["client@example.com"]
    assert message["subject"] == "Your statement"
    assert ".\nA dot line." in message["body"].replace("\r\n", "\n")
    assert message["attachments"][0]["filename"] == "statement-SB-000001.pdf"
    assert message["attachments"][0]["content_type"] == "application/pdf"
    assert message["attachments"][0]["size"] == len(PDF)


def test_a_4xx_is_worth_another_try_and_nothing_is_kept(server: SandboxMailServer) -> None:
    server.box.set_faults(parse_mail_faults("fail_first=2,fail_code=451"))
    for _ in range(2):
        with pytest.raises(PeerUnavailable, match="451") as caught:
            mailer(server).send(mail())
        assert caught.value.answered  # the server said "not now": it did not take the message
    assert server.box.view()["messages"] == []
    mailer(server).send(mail())
    assert len(server.box.view()["messages"]) == 1


def test_a_5xx_is_final_and_the_address_never_appears_in_the_error(server: SandboxMailServer) -> None:
    server.box.set_faults(parse_mail_faults("fail_first=1,fail_code=550,fail_at=rcpt"))
    with pytest.raises(PeerRefused) as caught:
        mailer(server).send(mail())
    assert caught.value.status == 550
    assert "client@example.com" not in str(caught.value)


def test_a_failing_before_commit_leaves_nothing_at_the_server(server: SandboxMailServer) -> None:
    def boom() -> None:
        raise RuntimeError("the ledger could not record it")

    with pytest.raises(RuntimeError):
        mailer(server).send(mail(), before_commit=boom)
    assert server.box.view()["messages"] == []


def test_a_server_that_is_not_there_is_worth_another_try() -> None:
    srv = SandboxMailServer(Mailbox()).start()
    port = srv.port
    srv.stop()
    with pytest.raises(PeerUnavailable) as caught:
        SmtpMailer(host="127.0.0.1", port=port, sender="s@x.example", security="none", timeout_s=2).send(mail())
    assert not caught.value.answered


def test_the_built_message_carries_the_given_message_id_and_redaction_hides_addresses() -> None:
    raw = build_message(mail(7), "statements@sandbox.example").as_bytes()
    parsed = message_from_bytes(raw, policy=policy.default)
    assert parsed["Message-ID"] == "<statement.c7.1.SB-000001@sandbox.example>"
    assert redact("550 5.1.1 <john.doe@example.com>: Recipient address rejected") == (
        "550 5.1.1 <address>: Recipient address rejected")


def test_names_beyond_ascii_arrive_as_written_for_a_standard_reader_and_the_sandbox(
        server: SandboxMailServer) -> None:
    letter = StatementMail(to="client@example.com", subject="Relevé n° SB-000002 — Clinique Zoë " * 3,
                           body="Bonjour Zoë,\nrelevé = 80,00 $\n", message_id="<statement.c9.1.SB-2@sandbox.example>",
                           attachment_name="relevé-SB-000002.pdf", pdf=PDF)
    sender = "Clinique Zoë <statements@sandbox.example>"
    raw = build_message(letter, sender).as_bytes()
    assert raw.isascii() and b"\r\n" in raw and b"\n" not in raw.replace(b"\r\n", b"")  # SMTP's line ends
    assert all(len(line) <= 78 for line in raw.split(b"\r\n"))  # headers folded (RFC 5322 section 2.1.1)

    standard = message_from_bytes(raw, policy=policy.default)
    attachment = next(standard.iter_attachments())
    assert (standard["Subject"], standard["From"], attachment.get_filename()) == (
        letter.subject, sender, letter.attachment_name)
    assert standard.get_body(("plain",)).get_content().replace("\r\n", "\n") == letter.body
    assert attachment.get_content() == PDF

    SmtpMailer(host="127.0.0.1", port=server.port, sender=sender, security="none", timeout_s=5).send(letter)
    got = server.box.view()["messages"][0]
    assert (got["subject"], got["from"], got["attachments"][0]["filename"]) == (
        letter.subject, sender, letter.attachment_name)
    assert got["body"].replace("\r\n", "\n") == letter.body


def test_mail_fault_specs_are_checked() -> None:
    assert parse_mail_faults("fail_first=3, fail_code=421").fail_first == 3
    for bad in ("fail_first=x", "nope=1", "fail_code=250", "fail_at=mail", "fail_first=1,fail_first=2"):
        with pytest.raises(ValueError):
            parse_mail_faults(bad)


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str]:
    """A self-signed certificate for 127.0.0.1 (openssl)."""
    import shutil
    import subprocess

    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = str(folder / "cert.pem"), str(folder / "key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj",
                    "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", key, "-out", cert],
                   check=True, capture_output=True)
    return cert, key


def test_starttls_is_used_and_the_certificate_is_checked(certificate: tuple[str, str]) -> None:
    import ssl

    cert, key = certificate
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    srv = SandboxMailServer(Mailbox(), tls_context=context).start()
    try:
        trusting = SmtpMailer(host="127.0.0.1", port=srv.port, sender="s@sandbox.example", security="starttls",
                              timeout_s=5, ca_file=cert)
        trusting.send(mail())
        assert len(srv.box.view()["messages"]) == 1
        # without the CA the certificate does not verify: nothing is sent in the clear instead
        with pytest.raises(PeerUnavailable, match=r"CERTIFICATE_VERIFY_FAILED|certificate verify failed"):
            SmtpMailer(host="127.0.0.1", port=srv.port, sender="s@sandbox.example", security="starttls",
                       timeout_s=5).send(mail(2))
        # a server that requires STARTTLS refuses a plain conversation
        with pytest.raises((PeerUnavailable, PeerRefused)):
            SmtpMailer(host="127.0.0.1", port=srv.port, sender="s@sandbox.example", security="none",
                       timeout_s=5).send(mail(3))
        assert len(srv.box.view()["messages"]) == 1
    finally:
        srv.stop()


def test_a_run_of_statements_shares_one_connection_and_each_arrives_once(server: SandboxMailServer) -> None:
    sender = mailer(server)
    for n in range(1, 4):
        sender.send(mail(n))
    view = server.box.view()
    assert view["by_message_id"] == {f"<statement.c{n}.1.SB-000001@sandbox.example>": 1 for n in range(1, 4)}
    assert (view["transactions"], view["connections"]) == (3, 1)


def test_a_kept_connection_the_server_dropped_is_replaced_before_anything_is_sent() -> None:
    first = SandboxMailServer(Mailbox()).start()
    sender = mailer(first)
    sender.send(mail(1))
    first.stop()  # the kept connection is gone with its server; a new server listens on the same port
    second = SandboxMailServer(Mailbox(), port=first.port).start()
    try:
        sender.send(mail(2))
        view = second.box.view()
        assert view["by_message_id"] == {"<statement.c2.1.SB-000001@sandbox.example>": 1}
        assert (view["transactions"], view["connections"]) == (1, 1)
    finally:
        second.stop()


def test_a_connection_idle_too_long_or_after_a_failure_is_not_reused(
        server: SandboxMailServer, monkeypatch: pytest.MonkeyPatch) -> None:
    sender = mailer(server)
    server.box.set_faults(parse_mail_faults("fail_first=1,fail_code=451"))
    with pytest.raises(PeerUnavailable):
        sender.send(mail(1))
    sender.send(mail(2))  # a new connection: the failed one was closed
    monkeypatch.setattr(smtp_mailer, "KEEP_OPEN_S", 0.0)
    sender.send(mail(3))  # idle longer than KEEP_OPEN_S: closed and a new one opened
    view = server.box.view()
    assert sorted(view["by_message_id"]) == ["<statement.c2.1.SB-000001@sandbox.example>",
                                             "<statement.c3.1.SB-000001@sandbox.example>"]
    assert (view["transactions"], view["connections"]) == (3, 3)
