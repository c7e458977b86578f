"""A small GitHub Actions runner, faithful where ots depends on it (actions/runner, C#):

- :func:`parse_file_commands` reads ``$GITHUB_ENV``/``$GITHUB_OUTPUT`` like
  ``SetEnvFileCommand.ProcessCommand``: lines split on LF (CRLF too on Windows), empty lines
  skipped, ``NAME=VALUE`` when ``=`` comes before ``<<``, else ``NAME<<DELIMITER`` with the value
  running up to the first line that equals the delimiter, without the newline before it.
- :func:`unescape_data` undoes command-data escaping like ``ActionCommand.UnescapeData``:
  ``%0D``, then ``%0A``, then ``%25``, each replaced everywhere in turn.
- :class:`Log` handles output lines like ``OutputManager.OnDataReceived``: a line that starts
  with ``::`` (after leading white space) is a command (``add-mask`` registers a value unless it
  is blank, and is not shown); every other line is shown with every registered value replaced
  by ``***``, overlapping matches merged (``SecretMasker.MaskSecrets``).
- :class:`Job` runs ``run:`` steps with bash, both streams read for commands (stderr first, as
  the runner drains its error queue first), a fresh env and output file per step, and applies
  them after the step; ``${{ secrets.X }}``, ``${{ steps.ID.outputs.N }}`` and
  ``${{ env.X }}`` are substituted, and secrets are masked as GitHub does.
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


class RunnerError(Exception):
    """The runner would fail the step with this message."""


def _read_line(text: str, index: int, windows: bool) -> tuple[str | None, int, str]:
    """(line, next index, newline) like ``SetEnvFileCommand.ReadLine``."""
    if index >= len(text):
        return None, index, ""
    lf = text.find("\n", index)
    if lf < 0:
        return text[index:], len(text), ""
    if windows:
        crlf = text.find("\r\n", index)
        if 0 <= crlf < lf:
            return text[index:crlf], crlf + 2, "\r\n"
    return text[index:lf], lf + 1, "\n"


def parse_file_commands(text: str, *, windows: bool = False) -> list[tuple[str, str]]:
    pairs: list[tuple[str, str]] = []
    line, index, _ = _read_line(text, 0, windows)
    while line is not None:
        if line:
            equals, heredoc = line.find("="), line.find("<<")
            if equals >= 0 and (heredoc < 0 or equals < heredoc):
                name, value = line.split("=", 1)
                if not name:
                    raise RunnerError(f"invalid format {line!r}: name must not be empty")
                pairs.append((name, value))
            elif heredoc >= 0:
                name, delimiter = line.split("<<", 1)
                if not name or not delimiter:
                    raise RunnerError(f"invalid format {line!r}")
                start = end = index
                temp, index, newline = _read_line(text, index, windows)
                while temp != delimiter:
                    if temp is None:
                        raise RunnerError(f"matching delimiter not found {delimiter!r}")
                    end = index - len(newline)
                    temp, index, newline = _read_line(text, index, windows)
                pairs.append((name, text[start:end] if end > start else ""))
            else:
                raise RunnerError(f"invalid format {line!r}")
        line, index, _ = _read_line(text, index, windows)
    return pairs


def unescape_data(data: str) -> str:
    for token, replacement in (("\r", "%0D"), ("\n", "%0A"), ("%", "%25")):
        data = data.replace(replacement, token)
    return data


def split_lines(data: str) -> list[str]:
    """Output lines as .NET's process reader sees them: split on CRLF, CR or LF."""
    lines = re.split(r"\r\n|\r|\n", data)
    if lines and lines[-1] == "":
        lines.pop()
    return lines


@dataclass
class Log:
    masks: list[str] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def add_mask(self, value: str) -> None:
        if value.strip():
            self.masks.append(value)
        else:
            self.warnings.append("Can't add secret mask for empty string in ##[add-mask] command.")

    def mask(self, line: str) -> str:
        spans = []
        for value in self.masks:
            start = line.find(value)
            while start >= 0:
                spans.append((start, start + len(value)))
                start = line.find(value, start + 1)
        if not spans:
            return line
        merged: list[list[int]] = []
        for start, end in sorted(spans):
            if merged and start <= merged[-1][1]:
                merged[-1][1] = max(merged[-1][1], end)
            else:
                merged.append([start, end])
        out, position = [], 0
        for start, end in merged:
            out.append(line[position:start] + "***")
            position = end
        return "".join(out) + line[position:]

    def process(self, line: str) -> None:
        stripped = line.lstrip()
        if stripped.startswith("::"):
            end = stripped.find("::", 2)
            if end >= 0:
                command = stripped[2:end].split(" ", 1)[0]
                if command == "add-mask":
                    self.add_mask(unescape_data(stripped[end + 2 :]))
                    return
        self.lines.append(self.mask(line))

    @property
    def text(self) -> str:
        return "\n".join(self.lines)


_EXPRESSION = re.compile(r"\$\{\{\s*([A-Za-z_.-]+)\s*\}\}")


@dataclass
class StepResult:
    code: int
    stdout: bytes
    stderr: bytes


@dataclass
class Job:
    """Runs the steps of one job in ``workdir``; ``base_env`` is the runner's environment."""

    workdir: Path
    base_env: Mapping[str, str]
    secrets: Mapping[str, str] = field(default_factory=dict)
    log: Log = field(default_factory=Log)
    env: dict[str, str] = field(default_factory=dict)
    outputs: dict[str, dict[str, str]] = field(default_factory=dict)
    results: list[StepResult] = field(default_factory=list)

    def __post_init__(self) -> None:
        for value in self.secrets.values():
            self.log.add_mask(value)  # GitHub masks every secret a job can use

    def _expand(self, text: str) -> str:
        def value(match: re.Match[str]) -> str:
            parts = match.group(1).split(".")
            if parts[0] == "secrets":
                return self.secrets[parts[1]]
            if parts[0] == "env":
                return self.env[parts[1]]
            if parts[0] == "steps" and parts[2] == "outputs":
                return self.outputs.get(parts[1], {}).get(parts[3], "")
            raise AssertionError(f"unsupported expression {match.group(0)}")

        return _EXPRESSION.sub(value, text)

    def run_step(self, step: Mapping[str, Any], index: int) -> StepResult:
        files = self.workdir.parent / f"runner-files-{index}"
        files.mkdir()
        env_file, output_file = files / "set_env", files / "set_output"
        env_file.touch()
        output_file.touch()
        env = {
            **self.base_env,
            **self.env,
            **{k: self._expand(str(v)) for k, v in (step.get("env") or {}).items()},
            "GITHUB_ACTIONS": "true",
            "CI": "true",
            "GITHUB_ENV": str(env_file),
            "GITHUB_OUTPUT": str(output_file),
        }
        done = subprocess.run(
            ["bash", "-e", "-c", self._expand(step["run"])],
            cwd=self.workdir,
            env=env,
            capture_output=True,
            timeout=120,
            check=False,
        )
        for data in (done.stderr, done.stdout):
            for line in split_lines(data.decode("utf-8", errors="replace")):
                self.log.process(line)
        result = StepResult(done.returncode, done.stdout, done.stderr)
        self.results.append(result)
        if done.returncode != 0:
            return result
        for name, value in parse_file_commands(env_file.read_bytes().decode()):
            if name.upper() == "NODE_OPTIONS":
                raise RunnerError("Can't store NODE_OPTIONS output parameter using '$GITHUB_ENV'")
            if not name.upper().startswith(("GITHUB_", "RUNNER_")):
                self.env[name] = value
        if "id" in step:
            outputs = parse_file_commands(output_file.read_bytes().decode())
            self.outputs[str(step["id"])] = dict(outputs)
        return result

    def run(self, steps: Sequence[Mapping[str, Any]], *, skip: Any = None) -> int:
        """Run the steps in order until one fails; returns the failing code or 0."""
        for index, step in enumerate(steps):
            if "run" not in step or (skip is not None and skip(step)):
                continue
            result = self.run_step(step, index)
            if result.code != 0:
                return result.code
        return 0


def environment(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """A runner-like base environment: PATH and HOME from the test, nothing of ots's."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTS_", "GITHUB_"))}
    env.update(extra or {})
    return env
