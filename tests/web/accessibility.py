"""axe-core (vendored for the tests, tests/web/vendor) run in a page: WCAG 2.0-2.2 A and AA
rules plus axe's best practices; and the two widths every page is checked at."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Page

AXE = next((Path(__file__).parent / "vendor").glob("axe-core-*/axe.min.js")).read_text()
AXE_RUN = """async () => {
  const result = await axe.run(document, {
    runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa',
                                     'best-practice'] },
  });
  return result.violations.map((v) => `${v.id}: ${v.nodes.map((n) => n.target).join(' ')}`);
}"""
VIEWPORTS = {"desktop": {"width": 1280, "height": 860}, "phone": {"width": 375, "height": 760}}


def axe_violations(page: Page) -> list[str]:
    # Injected through the DevTools protocol, which the page's CSP does not govern.
    page.evaluate(AXE)
    violations: list[str] = page.evaluate(AXE_RUN)
    return violations
