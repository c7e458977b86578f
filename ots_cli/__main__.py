"""Entry point: ``main(argv) -> int`` builds the dependencies, runs the app, maps errors to exits.

This is the only place that catches exceptions and decides the exit status (see
:mod:`ots_cli.errors`):

- :class:`~ots_cli.errors.OtsError` → ``ots: error: …`` and ``ots: hint: …`` on stderr (plus
  ``{"error": {...}}`` on stdout with ``--json``), exit code from the error.
- A usage error from the command-line parser → exit 2, same shape.
- :class:`~ots_cli.errors.Declined` (no to "Reveal it now?") → ``ots: note: …``, exit 13.
- Ctrl-C → 130. A closed stdout pipe → 141, silently, like other Unix tools.
- Anything else is a bug: exit 1, a message that says so, the traceback only with ``--debug``.
  Tracebacks never show local variables (they may hold plaintext).

Start-up time is a requirement (bench/README.md): ``ots --version`` answers before Typer is
imported, and nothing heavy is imported here.
"""

from __future__ import annotations

import sys

from ots_cli import __version__

# Not typing.TYPE_CHECKING: importing typing alone costs ~10% of `ots --version`. mypy treats
# any name TYPE_CHECKING as true.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence
    from typing import BinaryIO

    import httpx

    from ots_cli.local.keystore import Keystore
    from ots_cli.runtime import Runtime

__all__ = ["entry", "main"]


def main(
    argv: Sequence[str] | None = None,
    *,
    stdin: BinaryIO | None = None,
    stdout: BinaryIO | None = None,
    stderr: BinaryIO | None = None,
    env: Mapping[str, str] | None = None,
    http_client: httpx.Client | None = None,
    monotonic: Callable[[], float] | None = None,
    sleep: Callable[[float], None] | None = None,
    keystore: Keystore | None = None,
) -> int:
    """Run ``ots`` with ``argv`` (default ``sys.argv[1:]``) and return the exit status.

    Streams are binary; by default the process's own. ``env`` defaults to ``os.environ``.
    ``http_client`` replaces the client ots would build (tests pass a Starlette TestClient);
    ``monotonic`` and ``sleep`` replace the clock and the sleep of ``share --wait``;
    ``keystore`` replaces the system keyring.
    """
    args = list(sys.argv[1:] if argv is None else argv)
    out = stdout if stdout is not None else sys.stdout.buffer
    if args == ["--version"]:  # the fast path: no Typer, no config, no network
        out.write(f"ots {__version__}\n".encode())
        out.flush()
        return 0  # ExitCode.OK: this path imports no error tree (start-up time, see above)

    import os
    import time

    from ots_cli.runtime import Runtime

    rt = Runtime(
        stdin=stdin if stdin is not None else sys.stdin.buffer,
        stdout=out,
        stderr=stderr if stderr is not None else sys.stderr.buffer,
        env=os.environ if env is None else env,
        http_client=http_client,
        monotonic=monotonic or time.monotonic,
        sleep=sleep or time.sleep,
        argv=args,
        keystore=keystore,
    )
    # Until the parser has run, a failure still honours --json and --debug in argv (but not
    # after "--": those words belong to the command `ots run` starts).
    own = args[: args.index("--")] if "--" in args else args
    rt.options.json = rt.output.json_mode = "--json" in own
    rt.options.debug = "--debug" in own
    try:
        return _run(rt, args, redirect=stdout is not None or stderr is not None)
    finally:
        rt.close()


def _run(rt: Runtime, args: list[str], *, redirect: bool) -> int:
    from ots_cli.errors import Cancelled, Declined, ExitCode, OtsError
    from ots_cli.terminal.output import StdoutClosed

    try:
        return _dispatch(rt, args, redirect=redirect)
    except Declined as declined:  # an answer, not a failure: a note, and its own exit code
        rt.output.declined(declined)
        return declined.exit_code
    except OtsError as error:
        rt.output.error(error)
        return error.exit_code
    except KeyboardInterrupt:
        if rt.output.stderr_is_tty:
            rt.output.stderr_raw("\n")  # past the ^C the terminal echoed
        rt.output.error(Cancelled("interrupted"))
        return ExitCode.INTERRUPTED
    except (StdoutClosed, BrokenPipeError):
        return ExitCode.BROKEN_PIPE
    except Exception as exc:
        import traceback

        detail = None
        if rt.options.debug:
            detail = "".join(traceback.format_exception(exc))  # never with locals
        rt.output.bug(f"unexpected {type(exc).__name__}", detail)
        return ExitCode.BUG


def _dispatch(rt: Runtime, args: list[str], *, redirect: bool) -> int:
    import os
    from contextlib import nullcontext

    from typer.exceptions import Abort

    from ots_cli.app import build_command
    from ots_cli.cli.typer_compat import click, completion_init
    from ots_cli.errors import ExitCode, UsageError

    command = build_command()
    if "_OTS_COMPLETE" in os.environ:  # a completion script calling back (Typer reads os.environ)
        completion_init()
    try:
        with _redirected(rt) if redirect else nullcontext():
            result = command.main(args=args, prog_name="ots", standalone_mode=False, obj=rt)
    except Abort as exc:  # EOF at a click prompt, or Ctrl-C inside click
        raise KeyboardInterrupt from exc
    except click.exceptions.ClickException as exc:
        # NoSuchOption, BadParameter, MissingParameter...: all usage errors.
        hints = []
        context = getattr(exc, "ctx", None)
        if any(arg.startswith("-") and "#" in arg for arg in args):
            # A bare ID#KEY is random base64url and may start with "-" (1 in 64).
            hints.append("a bare ID#KEY that starts with '-' goes after '--': ots get -- ID#KEY")
        elif any(_looks_like_id(arg) for arg in args):
            # So may a bare id (ots status ID, ots burn ID).
            name = context.command_path if context is not None else "ots COMMAND"
            hints.append(f"an id that starts with '-' goes after '--': {name} -- ID")
        if context is not None:
            if context.command.name == "run" and "--" not in args:
                hints.append("put the command after '--': ots run LINK --env NAME -- CMD ARGS…")
            hints.append(f"run `{context.command_path} --help` for usage")
        raise UsageError(_lower(exc.format_message()), hints=hints) from exc
    except SystemExit as exc:  # shell completion exits from inside click
        code = exc.code
        return code if isinstance(code, int) else (ExitCode.OK if code is None else ExitCode.BUG)
    if rt.child_status is not None:  # `ots run`: the command's status, whatever it is
        return rt.child_status
    if result == ExitCode.INTERRUPTED:  # Typer turns KeyboardInterrupt into Exit(130)
        raise KeyboardInterrupt
    if isinstance(result, int) and not isinstance(result, bool):
        return result  # an Exit(code) raised by --help, --version or typer.Exit
    return ExitCode.OK


def _looks_like_id(arg: str) -> bool:
    """A secret's id in base64url (16 bytes, 22 characters) that begins with '-'."""
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    return len(arg) == 22 and arg.startswith("-") and all(c in alphabet for c in arg)


def _lower(message: str) -> str:
    message = message.strip().rstrip(".")
    return message[:1].lower() + message[1:]


class _redirected:
    """Point ``sys.stdout``/``sys.stderr`` at injected streams while click runs.

    Click writes ``--help`` and completion output to ``sys.stdout``; commands themselves
    write only through :class:`~ots_cli.terminal.output.Output`.
    """

    def __init__(self, rt: Runtime) -> None:
        self._streams = rt.output.streams

    def __enter__(self) -> None:
        import io

        self._saved = sys.stdout, sys.stderr
        self._out, self._err = (
            io.TextIOWrapper(stream, encoding="utf-8", write_through=True)
            for stream in self._streams
        )
        sys.stdout, sys.stderr = self._out, self._err

    def __exit__(self, *exc: object) -> None:
        sys.stdout, sys.stderr = self._saved
        for wrapper in (self._out, self._err):
            wrapper.flush()
            wrapper.detach()  # the injected stream belongs to the caller: do not close it


def entry() -> None:
    """Console script ``ots``."""
    # httpx imports its own command-line tool (click, rich, pygments: ~30 ms) unless that
    # import fails; ots never uses it. Only the ots process is affected, never a library user.
    sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]
    status = main()
    if status:  # only a failure needs the error tree: `ots --version` stays free of it
        from ots_cli.errors import ExitCode

        if status == ExitCode.BROKEN_PIPE:
            import os
            from contextlib import suppress

            # Python would report the broken pipe again when it flushes stdout at exit.
            with suppress(OSError, ValueError):
                os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    sys.exit(status)


if __name__ == "__main__":
    entry()
