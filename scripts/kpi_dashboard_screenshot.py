"""The director's KPI dashboard on a running demo instance, for the docs.

Usage: ``.venv/bin/python scripts/kpi_dashboard_screenshot.py http://127.0.0.1:8000 docs/img``
Logs in as the demo director (password ``radflow-demo``) with Debian's chromium, waits until
every chart is drawn and saves ``kpi-dashboard.png`` (the filters, the tiles and the first trend
charts). Run it against ``make run`` (``radflow demo --seed 1``); it only reads.
"""

from __future__ import annotations

import sys
from pathlib import Path

from playwright.sync_api import FloatRect, sync_playwright

ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
WIDTH, HEIGHT = 1400, 3080


def main(base: str, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
        page = browser.new_context(viewport={"width": WIDTH, "height": 1000}).new_page()
        errors: list[str] = []
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.goto(f"{base}/accounts/login/")
        page.get_by_label("Username").fill("director")
        page.get_by_label("Password").fill("radflow-demo")
        page.get_by_role("button", name="Log in").click()
        page.wait_for_url(f"{base}/")
        response = page.goto(f"{base}/kpis/director/")
        page.wait_for_selector("html[data-charts-ready=true]")
        target = out / "kpi-dashboard.png"
        clip: FloatRect = {"x": 0, "y": 0, "width": WIDTH, "height": HEIGHT}
        page.screenshot(path=str(target), full_page=True, clip=clip)
        timing = response.headers.get("server-timing", "") if response else ""
        print(f"{target}: {response.status if response else 0} ({timing})")
        if errors:
            print("console errors:", *errors, sep="\n  ")
        browser.close()


if __name__ == "__main__":
    main(sys.argv[1].rstrip("/"), Path(sys.argv[2]))
