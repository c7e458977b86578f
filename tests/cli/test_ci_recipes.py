"""Every recipe of docs/ci.md, run exactly as written there.

Recipes are the fenced blocks that follow a ``<!-- recipe: NAME -->`` marker. GitHub Actions
workflows run in the simulated runner of :mod:`ghrunner` (env files, outputs, masks, secrets),
GitLab jobs as GitLab runs a ``script`` (one ``bash`` with ``set -eo pipefail``), shell recipes
with ``bash -e``. Install steps (``pip``/``pipx install``) are skipped: ``ots`` is the one
under test. ``docker``, ``gh``, ``psql``, ``./deploy.sh`` and ``send-to-colleague`` are
stand-ins that record what they were given, so the tests can check the value arrived and
appeared nowhere else.
"""

from __future__ import annotations

import importlib
import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from processes import ServerProcess, free_port, start_server

from .ghrunner import Job, environment
from .support import cli_env, run_cli

# PyYAML has no type stubs in this environment; imported by name, it is simply untyped.
yaml = importlib.import_module("yaml")

DOC = Path(__file__).resolve().parents[2] / "docs" / "ci.md"
_RECIPE = re.compile(r"<!-- recipe: ([a-z0-9-]+) -->\n```([a-z]+)\n(.*?)\n```", re.DOTALL)

RECORDER = """\
import json, os, stat, sys
record = {"argv": sys.argv[1:]}
if "--password-stdin" in sys.argv:
    record["stdin"] = sys.stdin.read()
    path = os.readlink("/proc/self/fd/0")
    if os.path.isfile(path):
        record["stdin_file"] = {"path": path, "mode": stat.S_IMODE(os.stat(path).st_mode)}
for name in ("PGPASSWORD", "GH_TOKEN"):
    if name in os.environ:
        record[name] = os.environ[name]
if "DEPLOY_KEY_FILE" in os.environ:
    path = os.environ["DEPLOY_KEY_FILE"]
    record["DEPLOY_KEY_FILE"] = {
        "path": path, "content": open(path).read(), "mode": stat.S_IMODE(os.stat(path).st_mode)
    }
with open(os.path.join(os.environ["CAPTURE"], os.path.basename(sys.argv[0])), "a") as out:
    out.write(json.dumps(record) + "\\n")
"""

COLLEAGUE = """\
import os, subprocess, sys
got = subprocess.run(["ots", "get", sys.argv[1]], capture_output=True, check=True)
with open(os.path.join(os.environ["CAPTURE"], "colleague"), "wb") as out:
    out.write(got.stdout)
"""


def recipes() -> dict[str, tuple[str, str]]:
    """name → (language, text) for every recipe in docs/ci.md."""
    found = {m.group(1): (m.group(2), m.group(3)) for m in _RECIPE.finditer(DOC.read_text())}
    assert len(found) == DOC.read_text().count("<!-- recipe:")
    return found


def test_every_recipe_is_tested() -> None:
    tested = {
        name.removeprefix("test_recipe_").replace("_", "-")
        for name in globals()
        if name.startswith("test_recipe_")
    }
    assert set(recipes()) == tested


# -- the stage -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    process = start_server(tmp_path_factory.mktemp("recipes-server"), OTS_TTL_MIN="1s")
    try:
        yield process
    finally:
        process.stop()


class Stage:
    def __init__(self, tmp_path: Path, server: ServerProcess) -> None:
        self.server = server
        self.capture = tmp_path / "capture"
        self.work = tmp_path / "work"
        self.tools = tmp_path / "tools"
        self.tmp = tmp_path / "tmp"
        for directory in (self.capture, self.work, self.tools, self.tmp, tmp_path / "home"):
            directory.mkdir()
        for name, code in (
            ("docker", RECORDER),
            ("gh", RECORDER),
            ("psql", RECORDER),
            ("send-to-colleague", COLLEAGUE),
        ):
            self._tool(self.tools / name, code)
        self._tool(self.work / "deploy.sh", RECORDER)
        bin_dir = str(Path(sys.executable).parent)  # where `ots` is installed
        self.env = environment(
            {
                "PATH": os.pathsep.join([str(self.tools), bin_dir, os.environ.get("PATH", "")]),
                "CAPTURE": str(self.capture),
                "HOME": str(tmp_path / "home"),
                "TMPDIR": str(self.tmp),
                "OTS_CONFIG_DIR": str(tmp_path / "ots-config"),
                "NO_COLOR": "1",
            }
        )
        self.env.pop("CI", None)

    @staticmethod
    def _tool(path: Path, code: str) -> None:
        path.write_text(f"#!{sys.executable}\n{code}")
        path.chmod(0o755)

    def share(self, secret: bytes, *argv: str) -> str:
        result = run_cli(
            ["share", *argv], stdin=secret, env=cli_env(OTS_SERVER=self.server.base_url)
        )
        assert result.code == 0, result.err
        return result.text.strip()

    def records(self, tool: str) -> list[dict[str, Any]]:
        path = self.capture / tool
        if not path.exists():
            return []
        return [json.loads(line) for line in path.read_text().splitlines()]

    def bash(self, script: str, **env: str) -> subprocess.CompletedProcess[bytes]:
        return subprocess.run(
            ["bash", "-e", "-c", script],
            cwd=self.work,
            env={**self.env, **env},
            capture_output=True,
            timeout=120,
            check=False,
        )


@pytest.fixture
def stage(tmp_path: Path, server: ServerProcess) -> Stage:
    return Stage(tmp_path, server)


def _expired_link(stage: Stage) -> str:
    link = stage.share(b"too late", "--ttl", "1s")
    deadline = time.monotonic() + 10
    while run_cli(["peek", link]).code != 7:
        assert time.monotonic() < deadline, "the secret did not expire"
        time.sleep(0.2)  # a real server's clock: nothing to inject
    return link


def _install(step: dict[str, Any]) -> bool:
    return str(step.get("run", "")).startswith(("pipx install", "pip install"))


def _steps(name: str) -> list[dict[str, Any]]:
    language, text = recipes()[name]
    assert language == "yaml"
    workflow = yaml.safe_load(text)
    (job,) = workflow["jobs"].values()
    steps: list[dict[str, Any]] = job["steps"]
    return steps


def _github(stage: Stage, steps: list[dict[str, Any]], secrets: dict[str, str]) -> Job:
    base = {**stage.env, "GITHUB_REF_NAME": "v1.2.3", "RUNNER_TEMP": str(stage.tmp)}
    return Job(stage.work, base, secrets=secrets)


def _ots_steps_never_print(job: Job, value: str) -> None:
    """Neither the value nor any of its lines, outside the mask commands the runner consumes."""
    pieces = [value, *(line for line in value.splitlines() if len(line) >= 4)]
    for result in job.results:
        for piece in pieces:
            assert piece.encode() not in result.stdout
            for line in result.stderr.decode().splitlines():
                assert piece not in line or line.startswith("::add-mask::")


# -- GitHub Actions ------------------------------------------------------------------------------


def test_recipe_github_env(stage: Stage) -> None:
    password = "registry pass\nword 2"
    link = stage.share(password.encode())
    steps = _steps("github-env")
    job = _github(stage, steps, {"REGISTRY_PASSWORD_LINK": link})
    assert job.run(steps, skip=_install) == 0, job.log.text
    (login,) = stage.records("docker")
    assert login["stdin"] == password
    _ots_steps_never_print(job, password)
    # A careless later step prints the variable: the log shows it masked, line by line.
    job.run([{"run": 'echo "password: $REGISTRY_PASSWORD"'}])
    assert "password: ***" in job.log.text
    assert "registry pass" not in job.log.text
    assert "word 2" not in job.log.text


def test_a_rerun_of_the_github_job_fails_loudly(stage: Stage) -> None:
    link = stage.share(b"once only")
    steps = _steps("github-env")
    first = _github(stage, steps, {"REGISTRY_PASSWORD_LINK": link})
    assert first.run(steps, skip=_install) == 0
    (stage.work.parent / "rerun").mkdir()
    for old in stage.work.parent.glob("runner-files-*"):
        old.rename(stage.work.parent / "rerun" / old.name)
    again = _github(stage, steps, {"REGISTRY_PASSWORD_LINK": link})
    assert again.run(steps, skip=_install) == 6
    assert "treat the credential as compromised" in again.log.text
    assert len(stage.records("docker")) == 1


def test_recipe_github_output(stage: Stage) -> None:
    token = "ghp_0123456789abcdef"
    link = stage.share(token.encode())
    steps = _steps("github-output")
    job = _github(stage, steps, {"RELEASE_TOKEN_LINK": link})
    assert job.run(steps, skip=_install) == 0, job.log.text
    (release,) = stage.records("gh")
    assert release["GH_TOKEN"] == token
    assert release["argv"] == ["release", "create", "v1.2.3", "--generate-notes"]
    _ots_steps_never_print(job, token)
    job.run([{"env": {"T": "${{ steps.token.outputs.value }}"}, "run": 'echo "token: $T"'}])
    assert "token: ***" in job.log.text


def test_recipe_github_run(stage: Stage) -> None:
    key = "-----BEGIN KEY-----\nAAAA\n-----END KEY-----\n"
    link = stage.share(key.encode())
    steps = _steps("github-run")
    job = _github(stage, steps, {"DEPLOY_KEY_LINK": link})
    assert job.run(steps, skip=_install) == 0, job.log.text
    (deploy,) = stage.records("deploy.sh")
    seen = deploy["DEPLOY_KEY_FILE"]
    assert (seen["content"], seen["mode"]) == (key, 0o600)
    assert seen["path"].startswith(str(stage.tmp))  # under $RUNNER_TEMP
    assert not os.path.exists(seen["path"])
    assert "DEPLOY_KEY_FILE" not in job.env  # given to one command, not to later steps
    _ots_steps_never_print(job, "AAAA")


# -- GitLab CI -----------------------------------------------------------------------------------


def _gitlab(stage: Stage, name: str, **variables: str) -> tuple[int, bytes, dict[str, Any]]:
    language, text = recipes()[name]
    assert language == "yaml"
    (job,) = yaml.safe_load(text).values()
    lines = [line for line in job["script"] if not line.startswith(("pip install", "pipx"))]
    env = {"CI": "true", "GITLAB_CI": "true", "CI_PROJECT_DIR": str(stage.work), **variables}
    done = stage.bash("set -eo pipefail\n" + "\n".join(lines), **env)
    return done.returncode, done.stdout + done.stderr, job


def test_recipe_gitlab_run(stage: Stage) -> None:
    link = stage.share(b"gitlab deploy key")
    code, output, job = _gitlab(stage, "gitlab-run", DEPLOY_KEY_LINK=link)
    assert code == 0, output
    (deploy,) = stage.records("deploy.sh")
    assert deploy["DEPLOY_KEY_FILE"]["content"] == "gitlab deploy key"
    assert not os.path.exists(deploy["DEPLOY_KEY_FILE"]["path"])
    assert b"gitlab deploy key" not in output
    expired, output, _ = _gitlab(stage, "gitlab-run", DEPLOY_KEY_LINK=_expired_link(stage))
    assert expired == 7
    assert 7 in job["allow_failure"]["exit_codes"]
    gone, _, _ = _gitlab(stage, "gitlab-run", DEPLOY_KEY_LINK=link)
    assert gone == 6
    assert 6 not in job["allow_failure"]["exit_codes"]


def test_recipe_gitlab_file(stage: Stage) -> None:
    link = stage.share(b"gitlab registry password")
    code, output, job = _gitlab(stage, "gitlab-file", REGISTRY_PASSWORD_LINK=link)
    assert code == 0, output
    login, push = stage.records("docker")
    assert login["stdin"] == "gitlab registry password"
    assert login["stdin_file"]["mode"] == 0o600
    assert not login["stdin_file"]["path"].startswith(str(stage.work))  # not in the project
    assert push["argv"] == ["push", "registry.example.com/app:latest"]
    assert b"gitlab registry password" not in output
    assert 7 in job["allow_failure"]["exit_codes"]


# -- plain shell ---------------------------------------------------------------------------------


def _shell(name: str) -> str:
    language, text = recipes()[name]
    assert language == "sh"
    return text


def test_recipe_shell_capture(stage: Stage) -> None:
    link = stage.share(b"captured value\n")
    check = '\nprintf %s "$pw" > "$CAPTURE/pw"'
    done = stage.bash(_shell("shell-capture") + check, URL=link)
    assert done.returncode == 0, done.stderr
    assert (stage.capture / "pw").read_bytes() == b"captured value"  # $(…) drops the newline
    assert done.stdout + done.stderr == b""


def test_the_capture_recipe_works_on_github_too(stage: Stage) -> None:
    link = stage.share(b"captured on github")
    check = '\nprintf %s "$pw" > "$CAPTURE/pw"'
    done = stage.bash(_shell("shell-capture") + check, URL=link, GITHUB_ACTIONS="true")
    assert (stage.capture / "pw").read_bytes() == b"captured on github"  # no mask inside
    assert done.stderr == b"::add-mask::captured on github\n"


def test_recipe_shell_pipe(stage: Stage) -> None:
    link = stage.share(b"piped password")
    done = stage.bash(_shell("shell-pipe"), URL=link, GITHUB_ACTIONS="true")
    assert done.returncode == 0, done.stderr
    (login,) = stage.records("docker")
    assert login["stdin"] == "piped password"
    assert login["argv"][-1] == "--password-stdin"


def test_recipe_shell_exit_codes(stage: Stage) -> None:
    script = _shell("shell-exit-codes")
    link = stage.share(b"pw")
    assert stage.bash(script, URL=link).returncode == 0
    assert stage.records("docker")[0]["stdin"] == "pw"
    gone = stage.bash(script, URL=link)
    assert gone.returncode == 6
    assert b"someone else read the password first" in gone.stderr
    expired = stage.bash(script, URL=_expired_link(stage))
    assert expired.returncode == 7
    assert b"the link expired unread" in expired.stderr
    down = link.replace(f":{stage.server.port}/", f":{free_port()}/")
    unavailable = stage.bash(script, URL=down)
    assert unavailable.returncode == 9
    assert b"try again later" in unavailable.stderr
    assert len(stage.records("docker")) == 1


def test_recipe_shell_run(stage: Stage) -> None:
    link = stage.share(b"pg password")
    done = stage.bash(_shell("shell-run"), URL=link)
    assert done.returncode == 0, done.stderr
    (psql,) = stage.records("psql")
    assert psql["PGPASSWORD"] == "pg password"
    assert "pg password" not in " ".join(psql["argv"])
    assert done.stdout + done.stderr == b""


def test_recipe_shell_run_many(stage: Stage) -> None:
    db, key = stage.share(b"db password"), stage.share(b"deploy key")
    done = stage.bash(_shell("shell-run-many"), DB_URL=db, KEY_URL=key)
    assert done.returncode == 0, done.stderr
    (deploy,) = stage.records("deploy.sh")
    assert deploy["PGPASSWORD"] == "db password"
    assert deploy["DEPLOY_KEY_FILE"]["content"] == "deploy key"
    assert deploy["DEPLOY_KEY_FILE"]["mode"] == 0o600


def test_recipe_shell_wait(stage: Stage) -> None:
    done = stage.bash(
        _shell("shell-wait"), NEW_PASSWORD="rotated password", OTS_SERVER=stage.server.base_url
    )
    assert done.returncode == 0, done.stderr
    assert (stage.capture / "colleague").read_bytes() == b"rotated password"
    assert b"ots: note: read" in done.stderr
    assert b"rotated password" not in done.stdout + done.stderr


# -- bound secrets (--for) ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def bound_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ServerProcess, Any]]:
    """A server that trusts a local OIDC issuer (tests/oidc_issuer.py) for both platforms; its
    public URL is its own address, so tokens minted for it carry the audience it expects."""
    from oidc_issuer import bound_server, running_issuer

    with running_issuer() as issuer:
        issuers = f"github={issuer.url};gitlab={issuer.url}"
        with bound_server(tmp_path_factory.mktemp("recipes-bound-server"), issuers) as process:
            yield process, issuer


def test_recipe_shell_share_bound(tmp_path: Path, bound_server: tuple[ServerProcess, Any]) -> None:
    server, _ = bound_server
    stage = Stage(tmp_path, server)
    done = stage.bash(_shell("shell-share-bound"), DEPLOY_KEY="k3y", OTS_SERVER=server.base_url)
    assert done.returncode == 0, done.stderr
    link = done.stdout.decode().strip()
    # Off the pipeline, even a peek is refused, naming whom the link is for.
    peeked = run_cli(["--json", "peek", link], env=cli_env(OTS_SERVER=server.base_url))
    assert peeked.code == 4, peeked.err
    assert "only be read by GitHub Actions jobs of octo-org/deploy on refs/heads/main" in (
        peeked.err
    )
    answer = httpx.post(
        f"{server.base_url}/api/v1/secrets/{link.split('/s/')[1].split('#')[0]}/peek",
        json={"proof": _link_proof(link)},
    )
    assert (answer.status_code, answer.json()["error"]) == (403, "id_token_required")
    assert answer.json()["binding"] == "github:octo-org/deploy@refs/heads/main:production"


def _link_proof(link: str) -> str:
    from ots_cli.core import b64, crypto
    from ots_cli.core.links import parse_link

    parsed = parse_link(link, allow_insecure_http=True)
    return b64.encode(crypto.link_proof(parsed.id, parsed.key))


def test_recipe_github_bound(tmp_path: Path, bound_server: tuple[ServerProcess, Any]) -> None:
    from oidc_issuer import GITHUB_CLAIMS, RUNNER_BEARER

    server, issuer = bound_server
    stage = Stage(tmp_path, server)
    key = "-----BEGIN KEY-----\nBOUND\n-----END KEY-----\n"
    link = stage.share(key.encode(), "--for", "github:octo-org/deploy@main:production")
    _, text = recipes()["github-bound"]
    (job_spec,) = yaml.safe_load(text)["jobs"].values()
    steps = job_spec["steps"]
    # A runner gives a job the token service only with `permissions: id-token: write`.
    assert job_spec["permissions"]["id-token"] == "write"
    assert job_spec["environment"] == GITHUB_CLAIMS["environment"]
    issuer.runner_claims = dict(GITHUB_CLAIMS)
    runner = {
        "ACTIONS_ID_TOKEN_REQUEST_URL": issuer.runner_url,
        "ACTIONS_ID_TOKEN_REQUEST_TOKEN": RUNNER_BEARER,
    }
    base = {**stage.env, "RUNNER_TEMP": str(stage.tmp), **runner}
    job = Job(stage.work, base, secrets={"DEPLOY_KEY_LINK": link})
    assert job.run(steps, skip=_install) == 0, job.log.text
    (deploy,) = stage.records("deploy.sh")
    assert deploy["DEPLOY_KEY_FILE"]["content"] == key
    assert issuer.runner_requests[-1] == server.base_url
    _ots_steps_never_print(job, "BOUND")
    # The same link, fetched outside the pipeline, is refused and consumed nothing: the job
    # above read it, so share again and try from a plain shell.
    again = stage.share(key.encode(), "--for", "github:octo-org/deploy@main:production")
    outside = stage.bash(f'ots get "{again}"')
    assert outside.returncode == 4
    assert b"only be read by GitHub Actions jobs of octo-org/deploy" in outside.stderr


def test_recipe_gitlab_bound(tmp_path: Path, bound_server: tuple[ServerProcess, Any]) -> None:
    from oidc_issuer import GITLAB_CLAIMS

    server, issuer = bound_server
    stage = Stage(tmp_path, server)
    link = stage.share(b"gitlab bound key", "--for", "gitlab:group/sub/project@main")
    _, text = recipes()["gitlab-bound"]
    (spec,) = yaml.safe_load(text).values()
    # GitLab mints OTS_ID_TOKEN with the `aud` the job asks for: the reader writes their
    # server's URL there (the recipe's placeholder); here that is the test server's.
    assert spec["id_tokens"]["OTS_ID_TOKEN"]["aud"] == "https://ots.example.com"
    token = issuer.mint(GITLAB_CLAIMS, audience=server.base_url)
    code, output, _ = _gitlab(stage, "gitlab-bound", DEPLOY_KEY_LINK=link, OTS_ID_TOKEN=token)
    assert code == 0, output
    (deploy,) = stage.records("deploy.sh")
    assert deploy["DEPLOY_KEY_FILE"]["content"] == "gitlab bound key"
    assert token.encode() not in output
    # A token for the placeholder audience (a job that did not set its server's URL) fails.
    other = stage.share(b"x" * 8, "--for", "gitlab:group/sub/project@main")
    wrong = issuer.mint(GITLAB_CLAIMS, audience="https://ots.example.com")
    code, output, _ = _gitlab(stage, "gitlab-bound", DEPLOY_KEY_LINK=other, OTS_ID_TOKEN=wrong)
    assert code == 4
    assert b"audience" in output
