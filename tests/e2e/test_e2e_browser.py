"""A real browser (Playwright driving Debian's chromium, never a downloaded
one): log in, pick a profile, watch the progress page, land in JupyterLab.
A screenshot of each step goes to test-artifacts/e2e/browser/."""

import pytest

from .e2e_support import ARTIFACTS, admin_users, profiles, user_pods
from .test_e2e_spawn import logged_in

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-gpu",
]


@pytest.fixture
def page():
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1280, "height": 800})
        yield context.new_page()
        context.close()
        browser.close()


def test_login_pick_a_profile_watch_progress_land_in_jupyterlab(deployment, page):
    shots = ARTIFACTS / "browser"
    shots.mkdir(parents=True, exist_ok=True)
    name = "e2e-browser"
    chosen = profiles(deployment.values)[-1]  # not the default one

    page.goto(deployment.url)
    page.wait_for_selector("input[name=username]")
    page.screenshot(path=shots / "1-login.png")
    page.fill("input[name=username]", name)
    page.fill("input[name=password]", "any-password")
    page.click("input[type=submit], button[type=submit]")

    page.wait_for_selector("input[name=profile]")
    page.get_by_label(chosen["display_name"], exact=True).check()
    page.screenshot(path=shots / "2-profile-form.png")
    page.click("form input[type=submit], form button[type=submit]")

    page.wait_for_url("**/hub/spawn-pending/**")
    page.wait_for_selector("#progress-bar, .progress-bar, [role=progressbar]", state="attached")
    page.screenshot(path=shots / "3-progress.png")

    page.wait_for_url(f"**/user/{name}/lab**", timeout=180_000)
    page.wait_for_selector(".jp-LabShell", timeout=120_000)
    page.wait_for_selector(".jp-Launcher", timeout=120_000)
    page.screenshot(path=shots / "4-jupyterlab.png")
    assert "JupyterLab" in page.title()

    (pod,) = user_pods(deployment, name)
    env = {e["name"]: e.get("value") for e in pod["spec"]["containers"][0].get("env") or []}
    for key, value in (chosen.get("kubespawner_override", {}).get("environment") or {}).items():
        assert env[key] == str(value)

    # leave the shared deployment as we found it
    admin = logged_in(deployment, admin_users(deployment.values)[0])
    assert admin.api("DELETE", f"users/{name}/server").status_code in (202, 204)
