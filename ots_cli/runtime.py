"""Everything a command needs from the outside world, built once by ``main`` and injected.

Commands get a :class:`Runtime` from the Typer context (``ctx.obj``) and reach streams, the
environment, the clock, settings, receipts and the API only through it, so tests can run the
real CLI in-process with their own streams, environment and ``httpx.Client``.

Invariants:

- The environment is the mapping ``main`` was given, never ``os.environ`` directly.
- Heavy objects (config file, HTTP client) are built on first use, so ``ots config path`` or
  ``ots generate`` never import httpx.
- An HTTP client built here is closed by ``main``; an injected one belongs to the caller.
- An :class:`~ots_cli.api.client.Api` built here carries a lazy token provider
  (:meth:`Runtime.credential`): the keyring is opened only when a request that may carry a
  token is sent, and only if ``ots login`` left a marker for that server.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, BinaryIO

from ots_cli.errors import ConfigError, UsageError
from ots_cli.local.config import ConfigFile, Paths, Settings, paths_from_env, resolve
from ots_cli.terminal.output import Output
from ots_cli.terminal.prompts import can_prompt, no_prompt_reason

if TYPE_CHECKING:
    import httpx

    from ots_cli.api.client import Api
    from ots_cli.api.http import Deadlines
    from ots_cli.local.keystore import Keystore
    from ots_cli.local.receipts import ReceiptStore
    from ots_cli.local.request_files import RequestFiles
    from ots_cli.local.tokens import Credential, TokenFiles

__all__ = ["GlobalOptions", "Runtime"]


@dataclass
class GlobalOptions:
    """Options accepted before or after the command name; flags turn on from either place."""

    server: str | None = None
    json: bool = False
    no_input: bool = False
    quiet: bool = False
    debug: bool = False
    insecure: bool = False
    token_file: str | None = None


class Runtime:
    def __init__(
        self,
        *,
        stdin: BinaryIO,
        stdout: BinaryIO,
        stderr: BinaryIO,
        env: Mapping[str, str],
        http_client: httpx.Client | None = None,
        clock: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        argv: list[str] | None = None,
        keystore: Keystore | None = None,
    ) -> None:
        self.stdin = stdin
        self.env = env
        self.output = Output(stdout, stderr, env)
        self.options = GlobalOptions()
        self.clock = clock
        #: For waiting (``share --wait``): tests inject a fake pair that advances together.
        self.monotonic = monotonic
        self.sleep = sleep
        #: The raw arguments, for ``ots run``, which must know where ``--`` was.
        self.argv = list(argv or ())
        #: Set by ``ots run``: the child's status, which ``main`` returns as it is.
        self.child_status: int | None = None
        self._http = http_client
        self._owns_http = http_client is None
        self._paths: Paths | None = None
        self._config: ConfigFile | None = None
        self._keystore = keystore

    # -- options ------------------------------------------------------------------------------

    def set_option(self, name: str, value: object) -> None:
        """Record a global option from the root or from a command; later non-defaults win."""
        if name in ("server", "token_file"):
            if value is not None:
                setattr(self.options, name, str(value))
        elif value:
            setattr(self.options, name, True)
        self.output.json_mode = self.options.json
        self.output.quiet = self.options.quiet

    # -- local state --------------------------------------------------------------------------

    @property
    def paths(self) -> Paths:
        if self._paths is None:
            self._paths = paths_from_env(self.env)
        return self._paths

    @property
    def config(self) -> ConfigFile:
        if self._config is None:
            self._config = ConfigFile(self.paths.config_file)
        return self._config

    @property
    def receipts(self) -> ReceiptStore:
        from ots_cli.local.receipts import ReceiptStore

        return ReceiptStore(self.paths.receipts_dir)

    @property
    def request_files(self) -> RequestFiles:
        from ots_cli.local.request_files import RequestFiles

        return RequestFiles(self.paths.requests_dir)

    @property
    def token_files(self) -> TokenFiles:
        from ots_cli.local.tokens import TokenFiles

        return TokenFiles(self.paths.config_dir / "tokens")

    def keystore(self) -> Keystore:
        """The system keyring (``OTS_KEYRING_TIMEOUT`` bounds each call), or the injected one."""
        if self._keystore is None:
            from ots_cli.local.keystore import DEFAULT_TIMEOUT, KeyringStore

            self._keystore = KeyringStore(_keyring_timeout(self.env, DEFAULT_TIMEOUT))
        return self._keystore

    def credential(self, server: str) -> Credential | None:
        """The account token for ``server`` (docs/cli.md, "Accounts and tokens").

        ``--token-file`` and ``OTS_TOKEN`` belong to the server in effect (``--server``,
        ``OTS_SERVER``, the config file); a link to any other host never gets them.
        """
        from ots_cli.local.tokens import resolve_credential, server_identity

        identity = server_identity(server)
        configured = self.settings().server
        return resolve_credential(
            identity=identity,
            explicit=configured is not None and server_identity(configured) == identity,
            env=self.env,
            token_file=self.options.token_file,
            files=self.token_files,
            keystore=self.keystore,
        )

    def settings(self, *, ttl: str | None = None, views: int | None = None) -> Settings:
        return resolve(
            env=self.env, config=self.config, server=self.options.server, ttl=ttl, views=views
        )

    def now(self) -> int:
        return int(self.clock())

    def can_prompt(self) -> bool:
        return can_prompt(self.stdin, self.output, self.env, no_input=self.options.no_input)

    def no_prompt_reason(self) -> str:
        return no_prompt_reason(self.stdin, self.output, self.env, no_input=self.options.no_input)

    # -- network ------------------------------------------------------------------------------

    def server_url(self) -> str:
        """The server in effect (``--server``, ``OTS_SERVER``, config file), or ConfigError."""
        server = self.settings().server
        if server is None:
            raise ConfigError(
                "no server configured",
                hints=(
                    "pass --server URL, set OTS_SERVER, or run `ots config set server https://…`",
                ),
            )
        return server

    def api(self, server: str | None = None, *, credential: Credential | None = None) -> Api:
        """The API of ``server`` (a link's server), else of the configured server.

        Requests that may carry a token get the one :meth:`credential` resolves for that
        server, or ``credential`` when given (``ots login`` checking a new token).
        """
        from ots_cli.api.client import Api
        from ots_cli.api.http import new_http_client

        target = self.server_url() if server is None else server
        if self._http is None:
            self._http = new_http_client()

        def provider() -> Credential | None:
            return credential if credential is not None else self.credential(target)

        return Api(
            self._http,
            target,
            insecure=self.options.insecure,
            credential=provider,
            deadlines=_deadlines(self.env),
        )

    def close(self) -> None:
        if self._owns_http and self._http is not None:
            self._http.close()
            self._http = None


def _deadlines(env: Mapping[str, str]) -> Deadlines:
    """``OTS_REQUEST_TIMEOUT`` (a duration, default 30s) and ``OTS_MIN_DOWNLOAD_RATE`` (bytes
    per second, default 1024): see :class:`~ots_cli.api.http.Deadlines`."""
    from ots_cli.api.http import Deadlines
    from ots_cli.core.durations import parse_duration

    default = Deadlines()
    timeout, rate = env.get("OTS_REQUEST_TIMEOUT"), env.get("OTS_MIN_DOWNLOAD_RATE")
    try:
        seconds = parse_duration(timeout, what="OTS_REQUEST_TIMEOUT") if timeout else None
    except UsageError as exc:
        raise ConfigError(exc.message, hints=exc.hints) from None
    if rate and not (rate.isascii() and rate.isdigit() and int(rate) >= 1):
        raise ConfigError(
            "OTS_MIN_DOWNLOAD_RATE must be a whole number of bytes per second, such as 1024"
        )
    return Deadlines(
        request=default.request if seconds is None else float(seconds),
        min_rate=int(rate) if rate else default.min_rate,
    )


def _keyring_timeout(env: Mapping[str, str], default: float) -> float:
    value = env.get("OTS_KEYRING_TIMEOUT")
    if not value:
        return default
    try:
        seconds = float(value)
    except ValueError:
        seconds = -1.0
    if not 0 < seconds <= 3600:
        raise ConfigError(
            "OTS_KEYRING_TIMEOUT must be a number of seconds between 0 and 3600, such as 10"
        )
    return seconds
