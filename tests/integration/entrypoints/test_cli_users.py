"""`superbill users`: a password comes from a prompt or standard input, never the command line; disabling
an account ends its sessions and tokens; the audit log names who did what."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import redis

from pipeline.adapters.redis_staff import RedisStaffStore
from pipeline.application import staff

PASSWORD = "a long enough password"


def superbill(redis_url: str, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pipeline.entrypoints.cli", *args], input=stdin,
                          capture_output=True, text=True, timeout=60, check=False,
                          env={**os.environ, "REDIS_URL": redis_url})


def test_users_add_list_token_disable_and_the_audit_log(redis_url: str) -> None:
    no_password = superbill(redis_url, "users", "add", "ann", "--name", "Ann Lee", stdin="")
    assert no_password.returncode == 1 and "--password-stdin" in no_password.stderr
    short = superbill(redis_url, "users", "add", "ann", "--name", "Ann Lee", "--password-stdin", stdin="short\n")
    assert short.returncode == 1 and "at least 12 characters" in short.stderr
    added = superbill(redis_url, "users", "add", "ann", "--name", "Ann Lee", "--password-stdin",
                      stdin=PASSWORD + "\n")
    assert added.returncode == 0 and added.stdout.startswith("added ann (Ann Lee, person)")
    again = superbill(redis_url, "users", "add", "ann", "--name", "Ann Lee", "--password-stdin", stdin=PASSWORD)
    assert again.returncode == 1 and again.stderr.strip() == "user ann exists already"
    # said before any password is asked for (no terminal here: asking would fail with another message)
    taken = superbill(redis_url, "users", "add", "ann", "--name", "Ann Lee", stdin="")
    assert taken.returncode == 1 and taken.stderr.strip() == "user ann exists already"
    bad_name = superbill(redis_url, "users", "add", "Ann Lee", "--name", "x", "--password-stdin", stdin=PASSWORD)
    assert bad_name.returncode == 1 and "user name" in bad_name.stderr
    store = RedisStaffStore(redis.Redis.from_url(redis_url))
    assert staff.sign_in(store, "ann", PASSWORD, idle_s=60, max_s=600).token

    token = superbill(redis_url, "users", "token", "ann", "--label", "scripts")
    assert token.returncode == 0 and token.stdout.strip().startswith(staff.TOKEN_PREFIX)
    assert staff.token_actor(store, token.stdout.strip()) is not None
    listed = json.loads(superbill(redis_url, "users", "list", "--json").stdout)["users"]
    assert [(u["username"], u["disabled"]) for u in listed] == [("ann", False)]
    assert "password_hash" not in json.dumps(listed) and "argon2" not in json.dumps(listed)

    disabled = superbill(redis_url, "users", "disable", "ann")
    assert disabled.returncode == 0
    assert disabled.stdout.strip() == "disabled ann: 1 session(s) ended, 1 token(s) revoked"
    assert staff.token_actor(store, token.stdout.strip()) is None
    assert staff.sign_in(store, "ann", PASSWORD, idle_s=60, max_s=600).token is None
    assert superbill(redis_url, "users", "disable", "nobody").stderr.strip() == "no user nobody"

    audit = json.loads(superbill(redis_url, "audit", "--json").stdout)["audit"]
    actions = [e["action"] for e in audit]
    assert actions[:4] == ["sign_in.failed", "user.disabled", "token.issued", "sign_in"]
    assert audit[1]["via"] == "cli" and audit[1]["user"] == "ann"
    assert PASSWORD not in json.dumps(audit)
    text = superbill(redis_url, "audit")
    assert text.returncode == 0 and "user.disabled" in text.stdout and (" CST" in text.stdout or " CDT" in text.stdout)


def test_explain_prints_the_plain_explanation_of_each_code(redis_url: str) -> None:
    done = superbill(redis_url, "explain", "va_referral_missing", "277CA:A7:562")
    assert done.returncode == 0
    assert "va_referral_missing: No VA referral on file" in done.stdout
    assert "277CA:A7:562: Member id invalid" in done.stdout
    table = json.loads(superbill(redis_url, "explain", "--json").stdout)["explanations"]
    assert {"va_referral_missing", "balance_due", "277CA:A3", "http_5xx", "CARC:197"} <= {e["code"] for e in table}
