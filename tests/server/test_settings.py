"""Settings: defaults, strict parsing of every OTS_* variable, errors that name the variable."""

from __future__ import annotations

import ipaddress
import re
from pathlib import Path

import platformdirs
import pytest

from ots_cli.core.durations import parse_duration as cli_duration
from ots_server.settings import DAY, MIB, Settings, SettingsError
from ots_server.variables import (
    CLIENT_VARIABLES,
    VARIABLES,
    describe_variables,
    unknown_variables,
)

CLI_SOURCES = Path(__file__).resolve().parents[2] / "ots_cli"


def test_defaults() -> None:
    settings = Settings()
    data_dir = Path(platformdirs.user_data_dir("ots-server", appauthor=False))
    assert settings.data_dir == data_dir
    assert settings.store_url == f"sqlite://{data_dir}/ots.sqlite3"
    assert (settings.ttl_min, settings.ttl_max, settings.ttl_default) == (60, 7 * DAY, DAY)
    assert (settings.max_bytes, settings.max_views) == (MIB, 100)
    assert (settings.max_attempts, settings.default_attempts) == (10, 5)
    assert settings.receipt_grace == 7 * DAY
    assert (settings.public_url, settings.trusted_proxies) == (None, ())
    assert (settings.rate_limit_per_minute, settings.rate_limit_burst) == (120, 30)
    assert settings.rate_limit_ipv6_prefix == 64
    assert (settings.max_concurrent_uploads, settings.upload_timeout) == (32, 60)
    assert settings.max_store_bytes == 0
    assert (settings.redis_allow_eviction, settings.rate_limit_key) == (False, None)
    assert settings.log_level == "info"
    assert settings.require_account is False
    assert (settings.account_ttl_max, settings.account_max_bytes) == (30 * DAY, 4 * MIB)
    assert settings.account_rate_limit_per_minute > settings.rate_limit_per_minute
    assert settings.account_rate_limit_burst > settings.rate_limit_burst


def test_from_env_reads_every_variable(tmp_path: Path) -> None:
    env = {
        "OTS_DATA_DIR": str(tmp_path),
        "OTS_TTL_MIN": "90s",
        "OTS_TTL_MAX": "30d",
        "OTS_TTL_DEFAULT": "2h",
        "OTS_MAX_BYTES": "512KiB",
        "OTS_MAX_VIEWS": "7",
        "OTS_MAX_ATTEMPTS": "20",
        "OTS_DEFAULT_ATTEMPTS": "3",
        "OTS_RECEIPT_GRACE": "1d",
        "OTS_PUBLIC_URL": "https://ots.example.org/",
        "OTS_WEB": "false",
        "OTS_WEB_CREATE": "false",
        "OTS_TRUSTED_PROXIES": "10.0.0.0/8, ::1",
        "OTS_RATE_LIMIT_PER_MINUTE": "0",
        "OTS_RATE_LIMIT_BURST": "5",
        "OTS_RATE_LIMIT_IPV6_PREFIX": "56",
        "OTS_MAX_CONCURRENT_UPLOADS": "4",
        "OTS_UPLOAD_TIMEOUT": "2m",
        "OTS_MAX_UPLOADS_PER_CLIENT": "2",
        "OTS_MAX_HEADER_BYTES": "8KiB",
        "OTS_HEADER_TIMEOUT": "30s",
        "OTS_MAX_CONNECTIONS": "500",
        "OTS_MAX_STORE_BYTES": "2GiB",
        "OTS_SWEEP_INTERVAL": "30",
        "OTS_CHECKPOINT_INTERVAL": "1m",
        "OTS_REDIS_ALLOW_EVICTION": "true",
        "OTS_RATE_LIMIT_KEY": "k" * 40,
        "OTS_LOG_LEVEL": "DEBUG",
        "OTS_REQUIRE_ACCOUNT": "true",
        "OTS_ACCOUNT_TTL_MAX": "90d",
        "OTS_ACCOUNT_MAX_BYTES": "8MiB",
        "OTS_ACCOUNT_RATE_LIMIT_PER_MINUTE": "0",
        "OTS_ACCOUNT_RATE_LIMIT_BURST": "7",
        "OTS_OIDC_ISSUERS": "gitlab=https://gitlab.example.org ES256,RS256;github=http://127.0.0.1:9",
        "OTS_OIDC_AUDIENCE": "ots-prod",
        "OTS_OIDC_ALLOW_HTTP_LOOPBACK": "true",
    }
    settings = Settings.from_env(env)
    assert settings.data_dir == tmp_path
    assert settings.store_url == f"sqlite://{tmp_path}/ots.sqlite3"
    assert (settings.ttl_min, settings.ttl_max, settings.ttl_default) == (90, 30 * DAY, 7200)
    assert (settings.max_bytes, settings.max_views) == (512 * 1024, 7)
    assert (settings.max_attempts, settings.default_attempts) == (20, 3)
    assert settings.receipt_grace == DAY
    assert settings.public_url == "https://ots.example.org"
    assert settings.web is False
    assert settings.web_create is False
    assert settings.trusted_proxies == (
        ipaddress.ip_network("10.0.0.0/8"),
        ipaddress.ip_network("::1"),
    )
    assert (settings.rate_limit_per_minute, settings.rate_limit_burst) == (0, 5)
    assert settings.rate_limit_ipv6_prefix == 56
    assert (settings.max_concurrent_uploads, settings.upload_timeout) == (4, 120)
    assert settings.max_uploads_per_client == 2
    assert (settings.max_header_bytes, settings.header_timeout) == (8 * 1024, 30)
    assert settings.max_connections == 500
    assert settings.max_store_bytes == 2 * 1024 * MIB
    assert (settings.sweep_interval, settings.checkpoint_interval) == (30, 60)
    assert (settings.redis_allow_eviction, settings.rate_limit_key) == (True, "k" * 40)
    assert settings.log_level == "debug"
    assert settings.require_account is True
    assert (settings.account_ttl_max, settings.account_max_bytes) == (90 * DAY, 8 * MIB)
    assert (settings.account_rate_limit_per_minute, settings.account_rate_limit_burst) == (0, 7)
    assert [(i.platform, i.url, i.algorithms) for i in settings.oidc_issuers] == [
        ("gitlab", "https://gitlab.example.org", ("ES256", "RS256")),
        ("github", "http://127.0.0.1:9", ("RS256",)),
    ]
    assert (settings.audience, settings.oidc_allow_http_loopback) == ("ots-prod", True)
    assert {v.name for v in VARIABLES} <= set(env) | {"OTS_STORE_URL"}


def test_store_url_overrides_data_dir(tmp_path: Path) -> None:
    url = f"sqlite://{tmp_path}/elsewhere.sqlite3"
    assert Settings.from_env({"OTS_STORE_URL": url}).store_url == url


def test_other_variables_are_ignored() -> None:
    assert Settings.from_env({"HOME": "/x", "OTS_UNKNOWN": "1"}) == Settings()


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("OTS_TTL_MIN", "abc"),
        ("OTS_TTL_MIN", "1.5h"),
        ("OTS_TTL_MIN", " 60"),
        ("OTS_TTL_MIN", "60 s"),
        ("OTS_TTL_MIN", "-60"),
        ("OTS_TTL_MIN", "1_000"),
        ("OTS_TTL_MIN", "0"),
        ("OTS_TTL_MAX", ""),
        ("OTS_TTL_MAX", "30"),  # below OTS_TTL_MIN
        ("OTS_TTL_DEFAULT", "8d"),  # above OTS_TTL_MAX
        ("OTS_MAX_BYTES", "1MB"),
        ("OTS_MAX_BYTES", "0"),
        ("OTS_MAX_BYTES", "17GiB"),  # above the in-memory ceiling
        ("OTS_MAX_VIEWS", "0"),
        ("OTS_MAX_VIEWS", "ten"),
        ("OTS_MAX_ATTEMPTS", "0"),
        ("OTS_DEFAULT_ATTEMPTS", "11"),  # above OTS_MAX_ATTEMPTS
        ("OTS_RECEIPT_GRACE", "forever"),
        ("OTS_PUBLIC_URL", "ftp://example.org"),
        ("OTS_PUBLIC_URL", "https://user:pw@example.org"),
        ("OTS_PUBLIC_URL", "https://example.org/?q=1"),
        ("OTS_PUBLIC_URL", "example.org"),
        ("OTS_TRUSTED_PROXIES", "10.0.0.1/8"),
        ("OTS_TRUSTED_PROXIES", "localhost"),
        ("OTS_TRUSTED_PROXIES", "10.0.0.1,,"),
        ("OTS_RATE_LIMIT_PER_MINUTE", "-1"),
        ("OTS_RATE_LIMIT_BURST", "0"),
        ("OTS_RATE_LIMIT_IPV6_PREFIX", "0"),
        ("OTS_RATE_LIMIT_IPV6_PREFIX", "129"),
        ("OTS_RATE_LIMIT_IPV6_PREFIX", "/64"),
        ("OTS_MAX_UPLOADS_PER_CLIENT", "0"),
        ("OTS_MAX_HEADER_BYTES", "512"),  # below 1 KiB
        ("OTS_MAX_HEADER_BYTES", "2MiB"),
        ("OTS_HEADER_TIMEOUT", "0"),
        ("OTS_MAX_CONNECTIONS", "0"),
        ("OTS_MAX_CONCURRENT_UPLOADS", "0"),
        ("OTS_UPLOAD_TIMEOUT", "0"),
        ("OTS_UPLOAD_TIMEOUT", "2h"),
        ("OTS_MAX_STORE_BYTES", "-1"),
        ("OTS_MAX_STORE_BYTES", "1TB"),
        ("OTS_SWEEP_INTERVAL", "0"),
        ("OTS_CHECKPOINT_INTERVAL", "soon"),
        ("OTS_LOG_LEVEL", "verbose"),
        ("OTS_DATA_DIR", "relative/dir"),
        ("OTS_STORE_URL", "sqlite://relative.db"),
        ("OTS_STORE_URL", "mysql://x"),
        ("OTS_REQUIRE_ACCOUNT", "yes"),
        ("OTS_ACCOUNT_TTL_MAX", "0"),
        ("OTS_ACCOUNT_TTL_MAX", "1d"),  # below OTS_TTL_MAX
        ("OTS_ACCOUNT_TTL_MAX", "400d"),
        ("OTS_ACCOUNT_MAX_BYTES", "0"),
        ("OTS_ACCOUNT_MAX_BYTES", "1KiB"),  # below OTS_MAX_BYTES
        ("OTS_ACCOUNT_MAX_BYTES", "17GiB"),
        ("OTS_ACCOUNT_RATE_LIMIT_PER_MINUTE", "many"),
        ("OTS_ACCOUNT_RATE_LIMIT_BURST", "0"),
    ],
)
def test_bad_values_name_the_variable(name: str, value: str) -> None:
    with pytest.raises(SettingsError) as error:
        Settings.from_env({name: value})
    message = str(error.value)
    assert message.startswith((f"{name}: expected", f"{name}=")), message


def test_account_limits_follow_the_anonymous_ones_when_unset(tmp_path: Path) -> None:
    longer = Settings(data_dir=tmp_path, ttl_max=60 * DAY, ttl_default=DAY, max_bytes=3 * MIB)
    assert (longer.account_ttl_max, longer.account_max_bytes) == (60 * DAY, 12 * MIB)
    biggest = Settings(data_dir=tmp_path, max_bytes=5 * 1024 * MIB)
    assert biggest.account_max_bytes == 16 * 1024 * MIB  # the SQLite ceiling
    redis = Settings(store_url="redis://127.0.0.1/0", max_bytes=8 * MIB)
    assert redis.account_max_bytes == 16 * MIB  # the Redis ceiling
    with pytest.raises(SettingsError, match="OTS_ACCOUNT_MAX_BYTES"):
        Settings(store_url="redis://127.0.0.1/0", account_max_bytes=32 * MIB)
    with pytest.raises(SettingsError, match="OTS_ACCOUNT_TTL_MAX"):
        Settings(data_dir=tmp_path, ttl_max=60 * DAY, account_ttl_max=30 * DAY)


def test_store_url_value_is_never_echoed() -> None:
    with pytest.raises(SettingsError) as error:
        Settings.from_env({"OTS_STORE_URL": "redis:/:hunter2@host"})
    assert "hunter2" not in str(error.value)


def test_keyword_overrides_are_validated_too(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="OTS_TTL_DEFAULT"):
        Settings(data_dir=tmp_path, ttl_min=100, ttl_default=50)
    with pytest.raises(SettingsError, match="OTS_MAX_VIEWS"):
        Settings(data_dir=tmp_path, max_views=True)
    with pytest.raises(SettingsError, match="OTS_DATA_DIR"):
        Settings(data_dir=Path("relative"))


def test_help_lists_every_variable_with_its_default() -> None:
    text = describe_variables()
    for variable in VARIABLES:
        line = next(line for line in text.splitlines() if variable.name in line)
        assert f"[{variable.default}]" in line


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("2w", 14 * DAY), ("1h30m", 5400), ("1d12h", 36 * 3600), ("90", 90), ("7D", 7 * DAY)],
)
def test_durations_are_those_the_cli_accepts(text: str, seconds: int) -> None:
    assert cli_duration(text) == seconds
    assert Settings.from_env({"OTS_RECEIPT_GRACE": text}).receipt_grace == seconds


def test_a_zero_duration_is_still_zero() -> None:
    assert Settings.from_env({"OTS_RECEIPT_GRACE": "0"}).receipt_grace == 0
    assert Settings.from_env({"OTS_RECEIPT_GRACE": "0s"}).receipt_grace == 0


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"OTS_TTL_MAX": "30s"}, "OTS_TTL_MAX=30s is below OTS_TTL_MIN (60s)"),
        ({"OTS_TTL_MAX": "30"}, "OTS_TTL_MAX=30 is below OTS_TTL_MIN (60s)"),
        ({"OTS_TTL_MIN": "2h", "OTS_TTL_MAX": "90m"}, "OTS_TTL_MAX=90m is below OTS_TTL_MIN (2h)"),
        ({"OTS_TTL_DEFAULT": "8d"}, "OTS_TTL_DEFAULT=8d is above OTS_TTL_MAX (7d)"),
        ({"OTS_TTL_MAX": "40d", "OTS_ACCOUNT_TTL_MAX": "5w"},
         "OTS_ACCOUNT_TTL_MAX=5w is below OTS_TTL_MAX (40d)"),
        ({"OTS_UPLOAD_TIMEOUT": "2h"}, "OTS_UPLOAD_TIMEOUT=2h is above the maximum (1h)"),
        ({"OTS_TTL_MIN": "0"}, "OTS_TTL_MIN=0 is below the minimum (1s)"),
        ({"OTS_MAX_BYTES": "17GiB"}, "OTS_MAX_BYTES=17GiB is above the maximum (16GiB)"),
        ({"OTS_ACCOUNT_MAX_BYTES": "1536KiB", "OTS_MAX_BYTES": "2MiB"},
         "OTS_ACCOUNT_MAX_BYTES=1536KiB is below OTS_MAX_BYTES (2MiB)"),
        ({"OTS_DEFAULT_ATTEMPTS": "11"}, "OTS_DEFAULT_ATTEMPTS=11 is above OTS_MAX_ATTEMPTS (10)"),
        ({"OTS_MAX_VIEWS": "0"}, "OTS_MAX_VIEWS=0 is below the minimum (1)"),
    ],
)  # fmt: skip
def test_range_errors_are_in_the_units_of_the_setting(env: dict[str, str], message: str) -> None:
    with pytest.raises(SettingsError) as error:
        Settings.from_env(env)
    assert str(error.value) == message


def test_range_errors_without_the_environment_are_in_units_too(tmp_path: Path) -> None:
    with pytest.raises(SettingsError) as error:
        Settings(data_dir=tmp_path, ttl_min=100, ttl_default=50)
    assert str(error.value) == "OTS_TTL_DEFAULT=50s is below OTS_TTL_MIN (1m40s)"
    with pytest.raises(SettingsError) as error:
        Settings(data_dir=tmp_path, max_bytes=3 * 1024 * 1024 * MIB)
    assert str(error.value) == "OTS_MAX_BYTES=3072GiB is above the maximum (16GiB)"


def test_a_misspelled_variable_is_warned_about_with_the_closest_name() -> None:
    env = {"OTS_TTL_MAXX": "hunter2-value", "OTS_TTL_MAX": "7d", "HOME": "/root"}
    [warning] = unknown_variables(env)
    assert warning == (
        "OTS_TTL_MAXX is not a setting of ots-server and is ignored; did you mean OTS_TTL_MAX?"
    )
    assert unknown_variables({"OTS_NOTHING_LIKE_IT": "x"}) == [
        "OTS_NOTHING_LIKE_IT is not a setting of ots-server and is ignored"
    ]


def test_every_setting_and_every_cli_variable_is_known() -> None:
    env = {variable.name: "x" for variable in VARIABLES}
    env.update(dict.fromkeys(CLIENT_VARIABLES, "x"))
    assert unknown_variables(env) == []


def test_the_cli_variables_are_those_the_cli_reads() -> None:
    """Every ``OTS_`` name in the CLI's sources is the server's or listed as the CLI's (so a
    new CLI variable does not make the server warn about it)."""
    names = {
        name
        for path in CLI_SOURCES.rglob("*.py")
        for name in re.findall(r"\bOTS_[A-Z0-9_]*[A-Z0-9]\b", path.read_text())
    }
    server = {variable.name for variable in VARIABLES}
    assert names - server == set(CLIENT_VARIABLES)
