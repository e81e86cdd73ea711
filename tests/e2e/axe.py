"""axe-core in the browser tests: injected from tests/data/axe (vendored, offline) and run
against the page; the violations a person would be hurt by (serious, critical) are
returned with what they hit, so a failing test says what to fix."""

from __future__ import annotations

from pathlib import Path
from typing import Any

AXE = Path(__file__).resolve().parents[1] / "data" / "axe" / "axe.min.js"
SERIOUS = ("serious", "critical")


def axe_violations(page: Any, *, impacts: tuple[str, ...] = SERIOUS) -> list[dict[str, Any]]:
    """Run axe on the page as it is now (open every fold first if they should count)."""
    # evaluated through the DevTools protocol: the page's CSP (script-src 'self') forbids
    # an inline <script>, and the app must not be loosened for a test
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.evaluate(AXE.read_text(encoding="utf-8") + "\n;window.axe = axe; true")
    result = page.evaluate(
        """async () => {
            const r = await axe.run(document, {resultTypes: ['violations']});
            return r.violations.map(v => ({
                id: v.id, impact: v.impact, help: v.help,
                targets: v.nodes.slice(0, 5).map(n => n.target.join(' ')),
            }));
        }"""
    )
    return [v for v in result if v["impact"] in impacts]


def describe(violations: list[dict[str, Any]]) -> str:
    return "\n".join(f"{v['impact']} {v['id']}: {v['help']} @ {v['targets']}" for v in violations)
