"""Redis settings: strict parsing of every OTS_STORE_URL form, errors that name the variable
and never echo the URL (it may hold a password), and the rules that only hold with Redis."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from ots_server.settings import MIB, Settings, SettingsError
from ots_server.store import StoreConfigError, open_store
from ots_server.store.redis.store import RedisStore
from ots_server.store.redis.url import RedisTarget, parse_redis_url

PASSWORD = "hunter2-s3cret"


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (
            "redis://127.0.0.1",
            RedisTarget(mode="standalone", tls=False, hosts=(("127.0.0.1", 6379),)),
        ),
        (
            f"redis://ots:{PASSWORD}@cache.internal:6380/3?prefix=ots.prod&socket_timeout=0.5",
            RedisTarget(
                mode="standalone",
                tls=False,
                hosts=(("cache.internal", 6380),),
                username="ots",
                password=PASSWORD,
                db=3,
                prefix="ots.prod",
                socket_timeout=0.5,
            ),
        ),
        (
            "rediss://:p%40ss@[::1]:6390/0?ssl_ca_certs=/etc/ots/ca.pem&max_connections=8",
            RedisTarget(
                mode="standalone",
                tls=True,
                hosts=(("::1", 6390),),
                password="p@ss",
                ssl_ca_certs="/etc/ots/ca.pem",
                max_connections=8,
            ),
        ),
        (
            "redis+sentinel://s1,s2:26380,s3/mymaster/2?sentinel_password=x&connect_timeout=1",
            RedisTarget(
                mode="sentinel",
                tls=False,
                hosts=(("s1", 26379), ("s2", 26380), ("s3", 26379)),
                service="mymaster",
                db=2,
                sentinel_password="x",
                connect_timeout=1.0,
            ),
        ),
        (
            "rediss+cluster://n1:7000,n2:7001",
            RedisTarget(mode="cluster", tls=True, hosts=(("n1", 7000), ("n2", 7001))),
        ),
        (
            "redis+cluster://n1:7000/0",
            RedisTarget(mode="cluster", tls=False, hosts=(("n1", 7000),)),
        ),
    ],
)
def test_redis_urls_parse(url: str, expected: RedisTarget) -> None:
    assert parse_redis_url(url) == expected
    assert Settings(store_url=url).store_kind == "redis"


@pytest.mark.parametrize(
    "url",
    [
        f"redis://u:{PASSWORD}@",  # no host
        f"redis://u:{PASSWORD}@h1,h2",  # several hosts without sentinel/cluster
        f"redis://u:{PASSWORD}@h:0",
        f"redis://u:{PASSWORD}@h:65536",
        f"redis://u:{PASSWORD}@h:port",
        f"redis://u:{PASSWORD}@h/db",
        f"redis://u:{PASSWORD}@h/1/2",
        f"redis://u:{PASSWORD}@h/1001",
        f"redis://u:{PASSWORD}@h/0?prefix=",
        f"redis://u:{PASSWORD}@h/0?prefix=a*b",
        f"redis://u:{PASSWORD}@h/0?prefix={'p' * 65}",
        f"redis://u:{PASSWORD}@h/0?socket_timeout=0",
        f"redis://u:{PASSWORD}@h/0?socket_timeout=61",
        f"redis://u:{PASSWORD}@h/0?socket_timeout=1e3",
        f"redis://u:{PASSWORD}@h/0?max_connections=0",
        f"redis://u:{PASSWORD}@h/0?max_connections=%C2%B2",
        f"redis://u:{PASSWORD}@h/0?retry=1",
        f"redis://u:{PASSWORD}@h/0?prefix=a&prefix=b",
        f"redis://u:{PASSWORD}@h/0?prefix",
        f"redis://u:{PASSWORD}@h/0?ssl_ca_certs=/ca.pem",  # TLS option without TLS
        f"rediss://u:{PASSWORD}@h/0?ssl_ca_certs=ca.pem",  # relative path
        f"redis://u:{PASSWORD}@h/0?sentinel_password=x",
        f"redis://u:{PASSWORD}@h/0#frag",
        f"redis+sentinel://u:{PASSWORD}@s1",  # no service name
        f"redis+sentinel://u:{PASSWORD}@s1/my master",
        f"redis+cluster://u:{PASSWORD}@n1/3",
        f"redis+unix://u:{PASSWORD}@h",
    ],
)
def test_bad_redis_urls_name_the_variable_and_echo_nothing(url: str) -> None:
    with pytest.raises(SettingsError) as error:
        Settings.from_env({"OTS_STORE_URL": url})
    message = str(error.value)
    assert message.startswith("OTS_STORE_URL: "), message
    assert PASSWORD not in message
    assert "u:" not in message
    with pytest.raises(StoreConfigError) as refused:
        open_store(url)
    assert PASSWORD not in str(refused.value)


def test_the_redis_target_and_settings_never_show_credentials() -> None:
    url = f"redis://ots:{PASSWORD}@h/0"
    assert PASSWORD not in repr(parse_redis_url(url))
    settings = Settings(store_url=url, rate_limit_key="K" * 40)
    assert PASSWORD not in repr(settings)
    assert "K" * 40 not in repr(settings)


def test_max_bytes_is_capped_with_redis_only(tmp_path: Path) -> None:
    url = "redis://127.0.0.1/0"
    assert Settings(store_url=url, max_bytes=16 * MIB).max_bytes == 16 * MIB
    with pytest.raises(SettingsError, match=r"^OTS_MAX_BYTES: expected at most 16MiB"):
        Settings.from_env({"OTS_STORE_URL": url, "OTS_MAX_BYTES": "17MiB"})
    assert Settings(data_dir=tmp_path, max_bytes=64 * MIB).max_bytes == 64 * MIB  # SQLite


def test_the_sqlite_quota_is_refused_with_redis() -> None:
    with pytest.raises(SettingsError, match=r"^OTS_MAX_STORE_BYTES: expected 0 with the Redis"):
        Settings.from_env({"OTS_STORE_URL": "redis://127.0.0.1/0", "OTS_MAX_STORE_BYTES": "1GiB"})
    with pytest.raises(StoreConfigError, match="OTS_MAX_STORE_BYTES"):
        open_store("redis://127.0.0.1/0", max_store_bytes=1)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("OTS_REDIS_ALLOW_EVICTION", "yes"),
        ("OTS_REDIS_ALLOW_EVICTION", "True"),
        ("OTS_REDIS_ALLOW_EVICTION", "1"),
        ("OTS_RATE_LIMIT_KEY", "too-short"),
        ("OTS_RATE_LIMIT_KEY", "x" * 31),
        ("OTS_RATE_LIMIT_KEY", "ü" * 40),
        ("OTS_RATE_LIMIT_KEY", "tab\tinside" * 5),
    ],
)
def test_redis_related_variables_are_strict(name: str, value: str) -> None:
    with pytest.raises(SettingsError) as error:
        Settings.from_env({name: value})
    assert str(error.value).startswith(f"{name}: expected")
    if name == "OTS_RATE_LIMIT_KEY":
        assert value not in str(error.value)


def test_open_store_builds_a_redis_store_without_connecting() -> None:
    # Nothing listens on port 1: building the store must not try to connect.
    store = open_store("redis://127.0.0.1:1/0?prefix=built")
    assert isinstance(store, RedisStore)
    assert (store.prefix, store.target.hosts) == ("built", (("127.0.0.1", 1),))
    asyncio.run(store.close())
