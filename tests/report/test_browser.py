"""The demo report in a real browser (Debian's headless Chromium; .ci/run installs it when
missing): every figure's labels at least 9 pt as shown (the SVG's font size times the shown
width over the viewBox width), every table within the page, and screenshots of the first
screen and of the group section (``tests/report/screenshots/``, not committed) for a person
to look at.

Run: ``python -m pytest -m slow tests/report/test_browser.py -s`` (about 4 minutes: the demo
with --quick, then Chromium). The figures it prints are those quoted in the README.
"""

from __future__ import annotations

import base64
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from connective.report.document import MIN_FONT_PT, svg_font_sizes

CHROMIUM = next((shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome")
                 if shutil.which(n)), None)
pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(CHROMIUM is None, reason="Chromium not installed "
                                 "(.ci/run installs Debian's chromium)")]

#: measures, after the page has loaded, each figure's shown width and each table's width
#: against the room it has; written into the page for --dump-dom to return
MEASURE = """<script>
window.addEventListener('load', () => {
  const out = {body: document.body.clientWidth, figures: [], tables: []};
  document.querySelectorAll('figure img').forEach(img => out.figures.push(
    {id: img.parentElement.id, shown_px: img.getBoundingClientRect().width}));
  document.querySelectorAll('div.table').forEach(d => out.tables.push(
    {id: d.id, table_px: d.querySelector('table').scrollWidth, room_px: d.clientWidth}));
  const pre = document.createElement('pre'); pre.id = 'measured';
  pre.textContent = JSON.stringify(out); document.body.appendChild(pre);
});
</script>"""

#: shows the page from the group section on (for its screenshot)
FROM_GROUPS = """<script>
window.addEventListener('load', () => {
  const start = [...document.querySelectorAll('h2')].find(h => h.textContent === 'Groups');
  let seen = false;
  [...document.body.children].forEach(el => { if (el === start) seen = true;
                                              if (!seen) el.style.display = 'none'; });
});
</script>"""


def chromium(*args: str) -> str:
    run = subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu",
                          "--hide-scrollbars", "--window-size=1280,1000",
                          "--virtual-time-budget=15000", *args],
                         capture_output=True, text=True, timeout=180)
    assert run.returncode == 0, run.stderr[-2000:]
    return run.stdout


def with_script(page: Path, script: str, out: Path) -> Path:
    out.write_text(page.read_text().replace("</body>", script + "</body>"))
    return out


@pytest.fixture(scope="module")
def demo_report(tmp_path_factory):
    from connective.cli import main

    out = tmp_path_factory.mktemp("demo") / "demo"
    assert main(["demo", "--quick", "--out", str(out)]) == 0
    return out / "report"


def test_figures_readable_and_tables_within_the_page(demo_report, tmp_path):
    page = demo_report / "report.html"
    dom = chromium("--dump-dom", with_script(page, MEASURE, tmp_path / "m.html").as_uri())
    measured = json.loads(re.search(r'<pre id="measured">(.*?)</pre>', dom, re.S).group(1)
                          .replace("&quot;", '"'))
    svgs = {m.group(1): base64.b64decode(m.group(2)) for m in re.finditer(
        r'<figure id="([^"]+)"[^>]*><img [^>]*src="data:image/svg\+xml;base64,([^"]+)"',
        page.read_text())}
    assert {f["id"] for f in measured["figures"]} == set(svgs) >= {"path_diagram", "forest",
                                                                   "group_forest", "ppc"}
    smallest = {}
    for f in measured["figures"]:
        sizes = svg_font_sizes(svgs[f["id"]], f["shown_px"] * 0.75)  # CSS px -> pt
        smallest[f["id"]] = min(sizes)
    print("\nsmallest label as shown (pt):", {k: round(v, 2) for k, v in smallest.items()})
    wide = {t["id"]: (t["table_px"], t["room_px"]) for t in measured["tables"]
            if t["table_px"] > t["room_px"]}
    print("page text column:", measured["body"], "px; widest table:",
          max((t["table_px"], t["id"]) for t in measured["tables"]))
    assert all(v >= MIN_FONT_PT - 0.01 for v in smallest.values()), smallest
    assert not wide, wide
    shots = Path(__file__).parent / "screenshots"
    shots.mkdir(exist_ok=True)
    chromium(f"--screenshot={shots / 'first_screen.png'}", page.as_uri())
    chromium(f"--screenshot={shots / 'groups.png'}",
             with_script(page, FROM_GROUPS, tmp_path / "g.html").as_uri())
    assert (shots / "first_screen.png").stat().st_size > 20_000
