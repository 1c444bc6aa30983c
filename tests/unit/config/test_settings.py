"""Where the data lives does not depend on the current folder; Redis URLs the pipeline accepts."""

from __future__ import annotations

from pathlib import Path

import pytest

from config.settings import SettingsError, load_settings


def test_the_data_home_is_per_user_by_default_not_the_current_folder() -> None:
    settings = load_settings({"HOME": "/home/ana"})
    assert settings.data_dir == Path("/home/ana/.local/share/superbill")


def test_xdg_data_home_is_honoured() -> None:
    assert load_settings({"HOME": "/home/ana", "XDG_DATA_HOME": "/data"}).data_dir == Path("/data/superbill")


def test_superbill_home_names_the_data_home() -> None:
    assert load_settings({"HOME": "/home/ana", "SUPERBILL_HOME": "/srv/superbill"}).data_dir == Path("/srv/superbill")


def test_superbill_data_dir_still_wins_over_the_home() -> None:
    env = {"HOME": "/h", "SUPERBILL_HOME": "/srv/superbill", "SUPERBILL_DATA_DIR": "/srv/redis"}
    assert load_settings(env).data_dir == Path("/srv/redis")


def test_a_relative_home_is_made_absolute_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert load_settings({"HOME": "/h", "SUPERBILL_HOME": "data"}).data_dir == tmp_path / "data"


def test_a_tilde_home_is_expanded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", "/home/bo")
    assert load_settings({"SUPERBILL_HOME": "~/sb"}).data_dir == Path("/home/bo/sb")


@pytest.mark.parametrize("url", [
    "redis://r:6379/0", "rediss://r:6380/0", "unix:///run/redis.sock",
    "redis+sentinel://s1:26379,s2:26379/mymaster/0", "rediss+sentinel://s1:26379/mymaster",
])
def test_redis_urls_accepted(url: str) -> None:
    assert load_settings({"HOME": "/h", "REDIS_URL": url}).redis_url == url


def test_an_unknown_redis_scheme_names_the_variable() -> None:
    with pytest.raises(SettingsError, match="REDIS_URL must start with"):
        load_settings({"HOME": "/h", "REDIS_URL": "http://r:6379"})


def test_replicas_to_wait_for() -> None:
    assert load_settings({"HOME": "/h"}).redis_wait_replicas == 0
    assert load_settings({"HOME": "/h", "SUPERBILL_REDIS_WAIT_REPLICAS": "1"}).redis_wait_replicas == 1
    with pytest.raises(SettingsError, match="SUPERBILL_REDIS_WAIT_REPLICAS must be a number"):
        load_settings({"HOME": "/h", "SUPERBILL_REDIS_WAIT_REPLICAS": "one"})


def test_a_malformed_sentinel_url_stops_the_process_naming_the_variable() -> None:
    with pytest.raises(SettingsError, match="REDIS_URL: a sentinel URL"):
        load_settings({"HOME": "/h", "REDIS_URL": "redis+sentinel://s1/mymaster"})


def test_the_peers_are_the_documented_urls_and_tokens() -> None:
    settings = load_settings({
        "SUPERBILL_CLEARINGHOUSE_URL": "https://ch.example/api/", "SUPERBILL_CLEARINGHOUSE_TOKEN": "ch-secret",
        "SUPERBILL_BILLING_SERVICE_URL": "https://billing.example", "SUPERBILL_BILLING_SERVICE_TOKEN": "bs-secret",
        "SUPERBILL_SANDBOX_URL": "http://127.0.0.1:9999",  # only builds the defaults: the URLs above win
    })
    assert (settings.clearinghouse_url, settings.clearinghouse_token) == ("https://ch.example/api", "ch-secret")
    assert (settings.billing_service_url, settings.billing_service_token) == ("https://billing.example", "bs-secret")


def test_without_peer_settings_the_pipeline_talks_to_the_sandbox_on_port_8100() -> None:
    settings = load_settings({})
    assert settings.clearinghouse_url == "http://127.0.0.1:8100/clearinghouse"
    assert settings.billing_service_url == "http://127.0.0.1:8100/billing"
    assert (settings.clearinghouse_token, settings.billing_service_token) == ("sandbox", "sandbox")


def test_smtp_is_off_without_a_host_and_checked_with_one() -> None:
    import pytest

    from config.settings import SettingsError, load_settings

    assert load_settings({}).smtp is None
    smtp = load_settings({"SUPERBILL_SMTP_HOST": "mail.example", "SUPERBILL_SMTP_FROM": "billing@practice.example",
                          "SUPERBILL_SMTP_USERNAME": "u", "SUPERBILL_SMTP_PASSWORD": "p"}).smtp
    assert smtp is not None and (smtp.port, smtp.security, smtp.username) == (587, "starttls", "u")
    tls = load_settings({"SUPERBILL_SMTP_HOST": "m", "SUPERBILL_SMTP_FROM": "a@b.example",
                         "SUPERBILL_SMTP_SECURITY": "TLS"}).smtp
    assert tls is not None and (tls.port, tls.security) == (465, "tls")
    with pytest.raises(SettingsError, match="SUPERBILL_SMTP_FROM"):
        load_settings({"SUPERBILL_SMTP_HOST": "mail.example"})
    with pytest.raises(SettingsError, match="SUPERBILL_SMTP_SECURITY"):
        load_settings({"SUPERBILL_SMTP_HOST": "m", "SUPERBILL_SMTP_FROM": "a@b.example",
                       "SUPERBILL_SMTP_SECURITY": "ssl3"})


@pytest.mark.parametrize("name", ["SUPERBILL_SANDBOX_URL", "SUPERBILL_CLEARINGHOUSE_URL",
                                  "SUPERBILL_BILLING_SERVICE_URL", "SUPERBILL_STEDI_HEALTHCARE_URL",
                                  "SUPERBILL_STEDI_CORE_URL", "SUPERBILL_ALERT_URL"])
@pytest.mark.parametrize("value", ["notaurl", "ftp://alerts.example.com/hook", "https://", "https:///hook",
                                   "hooks.slack.com/services/T0/B0/secret", "http://:8080", "https://?token=secret",
                                   "http://@", "http://[::zz]/hook"])
def test_a_peer_or_alert_url_that_is_not_http_is_refused_without_repeating_it(name: str, value: str) -> None:
    with pytest.raises(SettingsError) as refused:
        load_settings({name: value})
    assert str(refused.value) == (f"environment variable {name} must be an http:// or https:// URL with a host, "
                                  "such as https://alerts.example.com/hook")
    assert "secret" not in str(refused.value)


def test_peer_and_alert_urls_are_taken_without_their_trailing_slash() -> None:
    settings = load_settings({"SUPERBILL_ALERT_URL": "https://alerts.example.com/hook/",
                              "SUPERBILL_SANDBOX_URL": "HTTP://127.0.0.1:8701/"})
    assert settings.alert_url == "https://alerts.example.com/hook"
    assert settings.clearinghouse_url == "HTTP://127.0.0.1:8701/clearinghouse"
    assert load_settings({"SUPERBILL_ALERT_URL": ""}).alert_url is None
    signed = "https://hooks.example.com/x?sig=ab/"  # a query keeps its last `/`: it can be part of a secret
    assert load_settings({"SUPERBILL_ALERT_URL": signed}).alert_url == signed
