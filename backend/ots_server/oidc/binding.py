"""Bindings: the CI identity a secret may be bound to, as canonical text.

The grammar is docs/FORMAT.md's ("Binding"); ots_cli.core.binding holds the client's copy
(the two packages never import each other) and tests check both against the same cases::

    github:OWNER/REPO[@REF][:ENVIRONMENT][:WORKFLOW]   (no environment: …::WORKFLOW)
    gitlab:GROUP/…/PROJECT[@REF]

Invariants:

- :func:`parse_binding` accepts only the canonical form (ASCII, at most 255 bytes, the exact
  character sets below); anything else is a ``ValueError``. There is no normalisation here:
  the text the sender's CLI wrote into the header is the text the server stores and compares.
- :meth:`Binding.claims` is the complete list of ID-token claims the binding pins, each
  compared exactly (:mod:`ots_server.oidc.verify`). A part left out of a binding pins nothing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

#: Longest binding (it is one u8-length field in the header).
MAX_BINDING_BYTES = 255

# A ref is printable ASCII without ':' (git forbids ':' in ref names; it ends the ref).
_REF = r"[!-9;-~]+"
_NAME = r"[A-Za-z0-9._-]{1,255}"
# ":ENVIRONMENT", ":ENVIRONMENT:WORKFLOW" or "::WORKFLOW" (':' ends a ref and an environment).
_GITHUB = re.compile(
    rf"github:([A-Za-z0-9-]{{1,39}})/([A-Za-z0-9._-]{{1,100}})(?:@(refs/{_REF}))?"
    rf"(?::(?:({_NAME})(?::({_NAME}))?|:({_NAME})))?",
    re.ASCII,
)
_GITLAB = re.compile(
    rf"gitlab:([A-Za-z0-9._-]+(?:/[A-Za-z0-9._-]+)+)(?:@({_REF}))?",
    re.ASCII,
)


@dataclass(frozen=True, slots=True)
class Binding:
    """A parsed binding; ``text`` is its canonical form (what the store keeps)."""

    text: str
    platform: str
    #: ``OWNER/REPO`` (GitHub) or ``GROUP/…/PROJECT`` (GitLab).
    project: str
    ref: str | None
    environment: str | None
    #: GitHub: the file name of the job's workflow in the repository's ``.github/workflows/``.
    workflow: str | None = None

    def needs_ref(self) -> bool:
        """True when only the token's own ``ref`` can complete the workflow pin."""
        return self.workflow is not None and not self.ref

    def claims(self, ref_claim: str | None = None) -> dict[str, str]:
        """The ID-token claims this binding pins, by claim name. ``ref_claim``: the token's
        own ``ref``, which a workflow pin without a ref of its own is completed with: GitHub's
        ``job_workflow_ref`` is ``OWNER/REPO/.github/workflows/FILE@REF`` for the workflow
        file the job runs, at the ref it runs on. A workflow pin with no ref anywhere (the
        token lacks its ``ref``) is a :class:`ValueError`: :meth:`needs_ref` tells first."""
        if self.platform == "github":
            pinned = {"repository": self.project, "ref": self.ref, "environment": self.environment}
            if self.workflow is not None:
                at = self.ref or ref_claim
                if not at:
                    raise ValueError("a workflow pin needs a ref: the binding's or the token's")
                pinned["job_workflow_ref"] = (
                    f"{self.project}/.github/workflows/{self.workflow}@{at}"
                )
        else:
            pinned = {"project_path": self.project, "ref": self.ref}
        return {name: value for name, value in pinned.items() if value is not None}


def parse_binding(text: str) -> Binding:
    """The binding ``text`` names; ``ValueError`` unless it is canonical."""
    if not isinstance(text, str) or not text.isascii() or len(text) > MAX_BINDING_BYTES:
        raise ValueError("expected at most 255 ASCII characters")
    if match := _GITHUB.fullmatch(text):
        owner, repo, ref, environment, workflow, only_workflow = match.groups()
        if repo in (".", ".."):
            raise ValueError("a repository name cannot be . or ..")
        workflow = workflow or only_workflow
        if workflow in (".", ".."):
            raise ValueError("a workflow file name cannot be . or ..")
        return Binding(text, "github", f"{owner}/{repo}", ref, environment, workflow)
    if match := _GITLAB.fullmatch(text):
        project, ref = match.groups()
        if any(part in (".", "..") for part in project.split("/")):
            raise ValueError("a project path cannot contain . or .. segments")
        return Binding(text, "gitlab", project, ref, None)
    raise ValueError(
        "expected github:OWNER/REPO[@refs/…][:ENVIRONMENT][:WORKFLOW] or gitlab:GROUP/PROJECT[@REF]"
    )
