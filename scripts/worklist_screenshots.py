"""Screenshots of every work list on a running demo instance, for the docs.

Usage: ``.venv/bin/python scripts/worklist_screenshots.py http://127.0.0.1:8000 docs/screenshots``
Logs in as each demo role (password ``radflow-demo``) with Debian's chromium and saves one PNG per
page. Run it against ``make run``; it only reads.
"""

from __future__ import annotations

import sys
from pathlib import Path

from playwright.sync_api import sync_playwright

PAGES = [
    ("coordinator", "/worklists/coordinator/", "worklist-coordinator"),
    ("coordinator", "/worklists/stat/", "worklist-stat-board"),
    ("coordinator", "/orders/incomplete/", "worklist-incomplete-referrals"),
    ("scheduler", "/worklists/front-desk/", "worklist-front-desk"),
    ("technologist", "/worklists/my-exams/", "worklist-my-exams"),
    ("radiologist", "/worklists/radiologist/", "worklist-radiologist"),
    ("billing", "/worklists/billing/", "worklist-billing"),
    ("billing", "/authorizations/", "worklist-pre-authorization"),
    ("coordinator", "/exams/documentation-audit/", "documentation-audit"),
    ("coordinator", "/exams/overrides/", "override-report"),
]
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def main(base: str, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
        for username, path, name in PAGES:
            context = browser.new_context(viewport={"width": 1400, "height": 1000})
            page = context.new_page()
            page.goto(f"{base}/accounts/login/")
            page.get_by_label("Username").fill(username)
            page.get_by_label("Password").fill("radflow-demo")
            page.get_by_role("button", name="Log in").click()
            page.wait_for_url(f"{base}/")
            response = page.goto(f"{base}{path}")
            status = response.status if response else 0
            page.screenshot(path=str(out / f"{name}.png"), full_page=False)
            print(f"{name}: {status} {path} as {username}")
            context.close()
        browser.close()


if __name__ == "__main__":
    main(sys.argv[1].rstrip("/"), Path(sys.argv[2]))
