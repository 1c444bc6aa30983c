"""`REDIS_URL` naming a Redis Sentinel set."""

from __future__ import annotations

import pytest

from config.redis_urls import SentinelTarget, parse_sentinel_url


def test_hosts_service_and_db() -> None:
    assert parse_sentinel_url("redis+sentinel://s1:26379,s2:26380/mymaster/2") == SentinelTarget(
        hosts=(("s1", 26379), ("s2", 26380)), service="mymaster", db=2, password=None,
        sentinel_password=None, tls=False)


def test_db_defaults_to_zero_and_tls_scheme() -> None:
    target = parse_sentinel_url("rediss+sentinel://10.0.0.5:26379/cache")
    assert (target.hosts, target.service, target.db, target.tls) == ((("10.0.0.5", 26379),), "cache", 0, True)


def test_passwords_for_the_master_and_for_the_sentinels() -> None:
    target = parse_sentinel_url("redis+sentinel://:p%40ss@s1:26379/mymaster/0?sentinel_password=sent")
    assert (target.password, target.sentinel_password) == ("p@ss", "sent")


def test_ipv6_host() -> None:
    assert parse_sentinel_url("redis+sentinel://[::1]:26379/m").hosts == (("::1", 26379),)


@pytest.mark.parametrize("url", [
    "redis+sentinel://s1/mymaster/0",            # no port
    "redis+sentinel://s1:26379",                 # no service
    "redis+sentinel://s1:26379/mymaster/zero",   # db not a number
    "redis+sentinel://s1:26379/a/0/extra",
])
def test_malformed_urls_say_what_is_expected(url: str) -> None:
    with pytest.raises(ValueError, match="sentinel URL"):
        parse_sentinel_url(url)
