"""The `--html` page in a real headless browser (NOTE(html-report) in objcg_proof/cli/html_report.py):
Debian's Chromium, driven by Playwright (the Python package; it uses the installed browser and
downloads none). The page loads without a console message of level error or warning and without
an uncaught exception; every trace's lanes and steps are in the DOM, laid out in time order; a
chip highlights the steps that touch its object; "show every step" shows the hidden ones; and a
screenshot is taken, into $OBJCG_SCREENSHOT_DIR when set (`bash scripts/test` sets it to
build/screenshots/, which CI keeps), else into the test's temporary directory.

Chromium is the Debian package `chromium` (`bash scripts/test` installs it as root, as it does
SPIN); without it, or without Playwright, these tests fail and say what to install.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from cli_helpers import LEAKY, run, write

CHROMIUM = "/usr/bin/chromium"
INSTALL = ("the HTML report's browser test needs Debian's Chromium (`apt-get install -y chromium`, as root) and the "
           "Python package playwright (the [test] extra); `bash scripts/test` installs both")
# as root, in a sandbox without a network: no setuid sandbox, no GPU, no background connections
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run", "--disable-quic"]

@pytest.fixture(scope="module")
def browser():
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail(INSTALL, pytrace=False)
    if not Path(CHROMIUM).exists() and shutil.which("chromium") is None:
        pytest.fail(INSTALL, pytrace=False)
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM if Path(CHROMIUM).exists() else shutil.which("chromium"),
                               args=ARGS)
        yield b
        b.close()


def open_page(browser, url: str):
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    messages: list[str] = []
    page.on("console", lambda m: messages.append(f"{m.type}: {m.text}") if m.type in ("error", "warning") else None)
    page.on("pageerror", lambda e: messages.append(f"uncaught: {e}"))
    page.goto(url)
    page.wait_for_load_state("load")
    return page, messages


def test_the_page_loads_and_its_lanes_and_steps_are_in_the_dom(browser, project, tmp_path):
    model = write(project, LEAKY)  # hidden at first: B's writes of `other` after flag, and C's
    r = run(model, "--html", "out", "-p", "leak")
    assert r.rc == 1, r.err
    page, messages = open_page(browser, (project / "out" / "index.html").as_uri())
    try:
        trace = page.locator("article.trace")
        assert trace.count() == 1
        lanes = trace.locator(".lane-head").all_inner_texts()
        assert sorted(lanes) == ["A", "B", "C"]
        steps = trace.locator(".step")
        total = int(trace.get_attribute("data-steps"))
        assert steps.count() == total
        hidden = trace.locator(".step[hidden]")
        assert 0 < hidden.count() < total
        assert set(hidden.evaluate_all("els => els.map(e => e.dataset.thread)")) == {"B", "C"}
        # time goes down: each shown step is below the one before, in its thread's lane
        boxes = [(s.get_attribute("data-thread"), s.bounding_box()) for s in steps.all() if s.is_visible()]
        assert [b["y"] for _, b in boxes] == sorted(b["y"] for _, b in boxes)
        heads = {name: trace.locator(".lane-head", has_text=name).bounding_box() for name in lanes}
        for thread, box in boxes:
            assert abs(box["x"] - heads[thread]["x"]) < 2
        # the refcount that ends wrong is what the leak is about; a chip highlights the steps that
        # touch its object, and only those
        about = trace.locator(".chip.about")
        assert about.count() == 1
        name = about.get_attribute("data-object")
        assert name.startswith("o")
        about.click()
        picked = trace.locator(".step.picked")
        assert picked.count() == 2    # get and put
        assert all(name in o.split() for o in picked.evaluate_all("els => els.map(e => e.dataset.objects)"))
        about.click()
        assert trace.locator(".step.picked").count() == 0
        # every step, on request
        page.locator("input.show-all").check()
        assert trace.locator(".step[hidden]").count() == 0 and trace.locator(".step:visible").count() == total
        page.locator("input.show-all").uncheck()
        assert trace.locator(".step[hidden]").count() == hidden.count() > 0
        shots = Path(os.environ.get("OBJCG_SCREENSHOT_DIR") or tmp_path)
        shots.mkdir(parents=True, exist_ok=True)
        png = page.screenshot(path=str(shots / "html-report.png"), full_page=True)
        assert png[:8] == b"\x89PNG\r\n\x1a\n"
        assert messages == []
    finally:
        page.close()


def test_the_execution_graph_is_drawn(browser, project):
    model = write(project, """
        shared word x = 0;
        shared word y = 0;
        ghost word r0 = 9;
        ghost word r1 = 9;
        thread P0 { WRITE_ONCE(x, 1); word a = READ_ONCE(y); atomic { r0 = a; } }
        thread P1 { WRITE_ONCE(y, 1); word b = READ_ONCE(x); atomic { r1 = b; } }
        final { assert(r0 == 1 || r1 == 1, "sb"); }
    """)
    r = run("--memory-model", "lkmm", model, "--html", "out", "-p", "sb")
    assert r.rc == 1, r.err
    page, messages = open_page(browser, (project / "out" / "index.html").as_uri())
    try:
        graph = page.locator("svg.graph")
        assert graph.count() == 1 and graph.is_visible()
        box = graph.bounding_box()
        assert box["width"] > 300 and box["height"] > 150
        assert graph.locator("g.node").count() == 6    # two initial values, two events per thread
        assert graph.locator("path.rf").count() == 2 and graph.locator("path.po").count() == 2
        assert messages == []
    finally:
        page.close()
