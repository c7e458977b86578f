"""Bindings: the CI identity a secret may be bound to (docs/FORMAT.md, "Binding"). Pure.

The canonical text is what goes into the header (and so into the associated data of every
AEAD call) and what the server stores and enforces::

    github:OWNER/REPO[@refs/…][:ENVIRONMENT][:WORKFLOW]   (no environment: …::WORKFLOW)
    gitlab:GROUP/…/PROJECT[@REF]

:func:`parse_binding` accepts only that canonical text (a header that carries anything else is
a format error). :func:`binding_from_option` reads what a person types after ``--for``, where
a GitHub ref may be a bare branch name (``@main`` means ``@refs/heads/main``), and returns the
canonical text. The server keeps its own copy of the grammar (ots_server.oidc.binding); the two
packages never import each other, and tests hold both to the same cases.
"""

from __future__ import annotations

import re

__all__ = ["MAX_BINDING_BYTES", "binding_from_option", "describe_binding", "parse_binding"]

#: Longest binding: one u8-length field in the header.
MAX_BINDING_BYTES = 255

_REF = r"[!-9;-~]+"  # printable ASCII without ':' (git forbids ':' in refs; it ends the ref)
_NAME = r"[A-Za-z0-9._-]{1,255}"
# ":ENVIRONMENT", ":ENVIRONMENT:WORKFLOW" or "::WORKFLOW" (':' ends a ref and an environment).
_GITHUB = re.compile(
    rf"github:([A-Za-z0-9-]{{1,39}})/([A-Za-z0-9._-]{{1,100}})(?:@(refs/{_REF}))?"
    rf"(?::(?:({_NAME})(?::({_NAME}))?|:({_NAME})))?",
    re.ASCII,
)
_GITLAB = re.compile(rf"gitlab:([A-Za-z0-9._-]+(?:/[A-Za-z0-9._-]+)+)(?:@({_REF}))?", re.ASCII)
_USAGE = (
    "expected github:OWNER/REPO[@REF][:ENVIRONMENT][:WORKFLOW] (no environment: "
    "github:OWNER/REPO[@REF]::WORKFLOW) or gitlab:GROUP/PROJECT[@REF]"
)


def parse_binding(text: str) -> str:
    """``text`` if it is a canonical binding, else ``ValueError``."""
    if not text.isascii() or len(text) > MAX_BINDING_BYTES:
        raise ValueError("a binding is at most 255 ASCII characters")
    if match := _GITHUB.fullmatch(text):
        if match.group(2) in (".", ".."):
            raise ValueError("a repository name cannot be . or ..")
        if (match.group(5) or match.group(6)) in (".", ".."):
            raise ValueError("a workflow file name cannot be . or ..")
        return text
    if match := _GITLAB.fullmatch(text):
        if any(part in (".", "..") for part in match.group(1).split("/")):
            raise ValueError("a project path cannot contain . or .. segments")
        return text
    raise ValueError(_USAGE)


def binding_from_option(text: str) -> str:
    """The canonical binding for a ``--for`` value; ``ValueError`` with the expected form."""
    if text.startswith("github:"):
        head, at, rest = text.partition("@")
        if at:
            ref, colon, environment = rest.partition(":")
            if ref and not ref.startswith("refs/"):
                ref = f"refs/heads/{ref}"
            text = f"{head}@{ref}{colon}{environment}"
    return parse_binding(text)


def describe_binding(binding: str) -> str:
    """A short human description: ``the GitHub Actions workflows of octo/app on refs/heads/main
    in environment production``."""
    if match := _GITHUB.fullmatch(binding):
        owner, repo, ref, environment, workflow, only_workflow = match.groups()
        text = f"GitHub Actions jobs of {owner}/{repo}"
        if workflow or only_workflow:
            text += f" in workflow {workflow or only_workflow}"
        if ref:
            text += f" on {ref}"
        if environment:
            text += f" in environment {environment}"
        return text
    if match := _GITLAB.fullmatch(binding):
        project, ref = match.groups()
        return f"GitLab CI jobs of {project}" + (f" on {ref}" if ref else "")
    return binding
