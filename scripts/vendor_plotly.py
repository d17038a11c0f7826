"""Copy plotly.js from the installed ``plotly`` Python package into the vendored static files.

Usage: ``.venv/bin/python scripts/vendor_plotly.py`` (after upgrading ``plotly`` in the lock file).

Writes ``radflow/static/vendor/``:
- ``plotly.min.js``: the package's ``package_data/plotly.min.js``, unchanged;
- ``plotly.css``: the style rules plotly.js would otherwise inject as an inline ``<style>``
  element, which the Content-Security-Policy (``style-src 'self'``) blocks. The dashboard links
  it with ``id="plotly.js-style-global" class="no-inline-styles"``: plotly.js then skips its own
  injection (it checks for that element and class);
- ``plotly.LICENSE``: the package's licence text (MIT);
and prints the version and checksum for ``README.md`` there.
"""

from __future__ import annotations

import hashlib
import re
import shutil
from importlib import metadata
from pathlib import Path

import plotly  # type: ignore[import-untyped]

ROOT = Path(__file__).resolve().parents[1]
TARGET = ROOT / "radflow" / "static" / "vendor"
#: The object literal of selector → declarations in plotly.js's build/plotcss.js.
ANCHOR = '{"X,X div":'


def _string(text: str, i: int) -> tuple[str, int]:
    """The JavaScript string literal starting at ``text[i]`` and the index after it."""
    quote = text[i]
    out = []
    i += 1
    while text[i] != quote:
        if text[i] == "\\":
            i += 1
        out.append(text[i])
        i += 1
    return "".join(out), i + 1


def style_rules(source: str) -> list[tuple[str, str]]:
    """(selector, declarations) pairs in source order, with plotly.js's X/Y placeholders."""
    i = source.index(ANCHOR) + 1
    rules = []
    while source[i] != "}":
        if source[i] in "\"'":
            key, i = _string(source, i)
        else:
            match = re.compile(r"[A-Za-z_$][\w$]*").match(source, i)
            if match is None:
                raise ValueError(f"unexpected key at {i}")
            key, i = match.group(0), match.end()
        if source[i] != ":":
            raise ValueError(f"expected ':' at {i}")
        value, i = _string(source, i + 1)
        rules.append((key, value))
        if source[i] == ",":
            i += 1
    return rules


def selector(key: str) -> str:
    """As plotly.js expands it before ``addStyleRule``."""
    key = re.sub(r"^,", " ,", key)
    return key.replace("X", ".js-plotly-plot .plotly").replace("Y", ".plotly-notifier")


def main() -> None:
    package = Path(plotly.__file__).parent
    source_js = package / "package_data" / "plotly.min.js"
    source = source_js.read_text(encoding="utf-8")
    version = re.search(r"plotly\.js v([\d.]+)", source[:400])
    TARGET.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source_js, TARGET / "plotly.min.js")
    # plotly.js inserts each rule at the top of its sheet, so the last one written wins first:
    # written here in reverse, the cascade is the same.
    rules = list(reversed(style_rules(source)))
    css = [
        f"/* plotly.js v{version.group(1) if version else '?'} style rules (MIT), extracted by "
        "scripts/vendor_plotly.py. */"
    ]
    css += [f"{selector(key)} {{ {value} }}" for key, value in rules]
    (TARGET / "plotly.css").write_text("\n".join(css) + "\n", encoding="utf-8")
    dist = metadata.distribution("plotly")
    licence = next((f for f in dist.files or [] if f.name.upper().startswith("LICENSE")), None)
    if licence is not None:
        shutil.copyfile(Path(str(dist.locate_file(licence))), TARGET / "plotly.LICENSE")
    digest = hashlib.sha256((TARGET / "plotly.min.js").read_bytes()).hexdigest()
    print(f"plotly (Python) {dist.version}, plotly.js v{version.group(1) if version else '?'}")
    print(f"{len(rules)} style rules; sha256 of plotly.min.js: {digest}")


if __name__ == "__main__":
    main()
