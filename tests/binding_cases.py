"""Texts for the three copies of the binding grammar (docs/FORMAT.md, "Binding"): the CLI's
(ots_cli.core.binding), the server's (ots_server.oidc.binding) and the browser reader's
(ots-format.js). Tests hold all three to these verdicts."""

#: Canonical bindings: every reader accepts them as they are.
ACCEPTED = [
    "github:octo/app",
    "github:octo/app@refs/tags/v1.2",
    "github:octo/app:prod",
    "github:o-1/r.e_p@refs/heads/feat/x@y:env-1.a",
    "gitlab:group/project",
    "gitlab:group/sub/project@main",
    "gitlab:g/p@v1.0",
    "github:" + "o" * 39 + "/" + "r" * 100 + "@refs/heads/" + "b" * 95,
    "github:octo/app:prod:release.yml",
    "github:octo/app::release.yml",
    "github:octo/app@refs/heads/main::deploy-prod.yaml",
    "github:octo/app@refs/heads/main:prod:release.yml",
]

#: Not canonical: every reader refuses them.
REFUSED = [
    "",
    "github:",
    "github:octo",
    "github:octo/",
    "github:octo/app@main",  # a GitHub ref in a header is always full
    "github:octo/app@",
    "github:octo/app:",
    "github:octo/app:pro duction",
    "github:octo/..",
    "github:oc_to/app",
    "GitHub:octo/app",
    "gitlab:project",
    "gitlab:group/../project",
    "gitlab:group/./project",
    "gitlab:group/project@",
    "gitlab:group/project:env",
    "bitbucket:a/b",
    "github:octo/app@refs/heads/m\u00e4in",
    "github:" + "o" * 40 + "/app",
    "github:octo/" + "r" * 101,
    "gitlab:" + "/".join(["g" * 60] * 5),
    "github:octo/app:::x",
    "github:octo/app::",
    "github:octo/app:prod:",
    "github:octo/app::..",
    "github:octo/app:prod:.",
    "github:octo/app::a/b.yml",
    "github:octo/app:prod:a:b",
    "github:octo/app@refs/heads/main:",
]

GRAMMAR_CASES = ACCEPTED + REFUSED
