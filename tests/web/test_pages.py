"""The seller's pages in a real browser (Debian's chromium), on a gateway built like the demo.

One gateway per module (HaloPSA simulator mounted, demo data), few page loads, with
``TRUSTED_DOCUMENTS=enforce``: every page works on the trusted documents alone (the test's own
queries use an integrator token). Two sellers:
``journey`` starts with no connection (the seed's whole journey), ``ready`` has a verified
connection and HaloPSA organisations (keyboard-only mapping, accessibility, roles).
Every seed text the pages show is asserted verbatim.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import make_settings
from tests.support.browser import WebGateway, axe_violations, chromium, web_gateway

# One process for the module: one gateway and one chromium, not one per xdist worker.
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("browser")]

# Waits for what a page shows: a sync over the simulator's latency takes a few seconds.
UI_TIMEOUT_MS = 20_000
# Bounds a wait for a condition (a hang), measures nothing.
CONDITION_TIMEOUT_MS = 60_000
# The simulator answers slowly during the subscriptions sync, so "Sync in progress" is on
# screen for seconds rather than milliseconds.
SLOW_HALO_MS = 700
SYNC_SUBSCRIPTIONS_TOOLTIP = "Sync subscriptions from platform to your PSA tool"
SYNC_ORGANIZATIONS_TOOLTIP = "Sync organizations from your PSA tool to the platform"
SEARCH_PLACEHOLDER = (
    "Search by organization name, PSA organization name, organization reference or PSA "
    "organization ID."
)
OVERVIEW = "{ syncOverview { organizations { lastRun { state } } } }"
UNMAPPED = """{ organizations(filter: {mappingStatus: [UNMAPPED]}, pageSize: 50)
{ rows { id } } }"""
MAP = """mutation ($org: ID!, $psa: ID!) { mapOrganization(organizationId: $org,
psaOrganizationId: $psa) { id } }"""
# web/src/styles.css: --primary and --error
BLUE = "rgb(31, 95, 191)"
RED = "rgb(180, 35, 24)"


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Iterator[WebGateway]:
    tmp = tmp_path_factory.mktemp("web")
    settings = make_settings(
        f"sqlite://{tmp / 'gateway.sqlite3'}", tmp, trusted_documents="enforce"
    )
    sellers = {
        "journey": {"organizations": 12, "log_entries": 30},
        "ready": {"organizations": 12, "connected": True},
        "dayone": {"organizations": 0, "connected": True},
    }
    with web_gateway(settings, sellers, halo_clients=14) as site:
        site.simulator.instance().set_faults(latency_ms=20)
        site.gql("ready", "mutation { syncOrganizations { id } }")
        for _ in range(300):
            last = site.gql("ready", OVERVIEW)["data"]["syncOverview"]["organizations"]["lastRun"]
            if last and last["state"] == "SUCCEEDED":
                break
            time.sleep(0.1)
        # one mapped organisation, so a subscriptions sync has something to send
        rows = site.gql("ready", UNMAPPED)["data"]["organizations"]["rows"]
        psa = site.gql("ready", "{ psaOrganizations(first: 50) { id } }")["data"]
        mapped = site.gql(
            "ready", MAP, {"org": rows[-1]["id"], "psa": str(psa["psaOrganizations"][-1]["id"])}
        )
        assert "errors" not in mapped, mapped
        yield site


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium() as browser:
        yield browser


@pytest.fixture
def page(browser, request, tmp_path) -> Iterator[Any]:
    from playwright.sync_api import expect

    expect.set_options(timeout=UI_TIMEOUT_MS)
    context = browser.new_context(viewport={"width": 1440, "height": 900})
    context.set_default_timeout(UI_TIMEOUT_MS)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: m.type == "error" and errors.append(m.text))
    yield page
    report = getattr(request.node, "report_call", None)
    if report is not None and report.failed:
        shot = tmp_path / "failure.png"
        page.screenshot(path=shot)
        print(f"--- the page at the failure ({page.url}, screenshot {shot}) ---")
        print(page.inner_text("body")[:4000])
    context.close()
    assert not [e for e in errors if "401" not in e], errors


class _SocketWatch:
    """The page's websockets, in the order it opened them, with its open subscriptions on
    each (``subscribe`` frames less ``complete`` ones)."""

    def __init__(self, page: Any) -> None:
        self.page = page
        self.sockets: list[Any] = []
        self.subscriptions: list[int] = []
        page.on("websocket", self._opened)

    def _opened(self, socket: Any) -> None:
        index = len(self.sockets)
        self.sockets.append(socket)
        self.subscriptions.append(0)

        def sent(payload: str | bytes) -> None:
            kind = json.loads(payload).get("type")
            self.subscriptions[index] += {"subscribe": 1, "complete": -1}.get(kind, 0)

        socket.on("framesent", sent)

    def _until(self, done: Any, what: str) -> None:
        deadline = time.monotonic() + CONDITION_TIMEOUT_MS / 1000
        while not done():
            assert time.monotonic() < deadline, f"waited in vain for {what}"
            self.page.wait_for_timeout(50)  # lets Playwright deliver the page's events

    def until_closed(self, index: int) -> None:
        self._until(
            lambda: len(self.sockets) > index and self.sockets[index].is_closed(),
            f"websocket {index} to close",
        )

    def until_resubscribed(self, site: WebGateway) -> None:
        """A newer socket carries as many subscriptions as the first did, and the gateway
        serves that many."""
        wanted = self.subscriptions[0]
        assert wanted > 0, "the page subscribed to nothing on its first websocket"
        self._until(
            lambda: (
                len(self.sockets) > 1
                and not self.sockets[-1].is_closed()
                and self.subscriptions[-1] >= wanted
                and site.live_subscriptions() >= wanted
            ),
            f"{wanted} subscriptions on a new websocket",
        )


def _open(page, site: WebGateway, seller: str, path: str = "/", role: str = "SELLER_ADMIN"):
    page.goto(f"{site.base_url}{path}#token={site.token(seller, role)}")


def test_the_seed_journey_connect_map_sync_configure_and_read_the_logs(
    page, site: WebGateway
) -> None:
    from playwright.sync_api import expect

    resource, authorization = site.halo_urls
    # --- arriving: the token leaves the address bar at once --------------------------------
    _open(page, site, "journey")
    expect(page).to_have_url(f"{site.base_url}/connection")
    assert "token" not in page.url
    handed_over = page.evaluate("() => sessionStorage.getItem('halo-gateway.session')")
    assert handed_over and site.token("journey") not in handed_over
    page.evaluate("() => { window.__sameDocument = true; }")

    # --- Connection settings: greyed-out Mapping, a failing test, a refused save ------------
    expect(page.get_by_role("heading", name="Connection settings")).to_be_visible()
    expect(
        page.get_by_text("Configure your HaloPSA integration to manage and bill your customers.")
    ).to_be_visible()
    mapping_link = page.get_by_role("link", name="Mapping")
    expect(mapping_link).to_have_attribute("aria-disabled", "true")
    mapping_link.click(force=True)  # greyed out, yet it opens the page that says why
    expect(page.get_by_test_id("mapping-locked")).to_contain_text(
        "Mapping section is visible once Authentication Settings are configured and verified."
    )
    page.get_by_role("button", name="Go to Connection settings").click()

    page.get_by_label("Client ID").fill("browser-client")
    page.get_by_label("Client Secret").fill("not-the-secret")
    page.get_by_label("Resource server").fill(resource)
    page.get_by_label("Authorization server").fill(authorization)
    expect(page.get_by_label("Tenant (optional)")).to_have_value("")
    page.get_by_role("button", name="Test Connection").click()
    outcome = page.get_by_test_id("connection-outcome")
    expect(outcome).to_contain_text("Test is not successful.")
    expect(outcome).to_have_class(re.compile("outcome-bad"))
    assert len(outcome.inner_text().strip()) > len("Test is not successful.")  # the reason
    page.get_by_role("button", name="Save Settings").click()
    expect(outcome).to_contain_text("Invalid connection configuration.")
    expect(page).to_have_url(f"{site.base_url}/connection")

    # --- the right secret: test succeeds, save redirects to Mapping ------------------------
    page.get_by_label("Client Secret").fill("browser-secret-7788")
    page.get_by_role("button", name="Test Connection").click()
    expect(outcome).to_contain_text("Test is successful.")
    expect(outcome).to_have_class(re.compile("outcome-ok"))
    page.get_by_role("button", name="Save Settings").click()
    expect(page).to_have_url(f"{site.base_url}/mapping")
    expect(page.get_by_text("Connection settings saved.")).to_be_visible()

    # --- Mapping: banner, tiles, buttons, grid ----------------------------------------------
    expect(
        page.get_by_text("Organizations: Synced from HaloPSA to the platform daily at 08:00 UTC")
    ).to_be_visible()
    expect(
        page.get_by_text("Subscriptions: Synced from the platform to HaloPSA daily at 18:00 UTC")
    ).to_be_visible()
    platform_tile = page.get_by_test_id("tile-platform")
    psa_tile = page.get_by_test_id("tile-psa")
    expect(platform_tile).to_contain_text("Last Sync to Platform")
    expect(psa_tile).to_contain_text("Last Sync to PSA")
    # the save queued an organisations sync: the tile fills in without a reload
    expect(platform_tile).to_contain_text("0h ago")
    expect(psa_tile).to_contain_text("Never")
    for column in (
        "Organization Name",
        "Organization Reference #",
        "Organization Status",
        "PSA Organization Name",
        "PSA Organization ID",
        "PSA Organization Status",
        "Mapping Status",
        "Actions",
    ):
        expect(page.get_by_role("columnheader", name=column, exact=True)).to_be_visible()
    expect(page.get_by_placeholder(SEARCH_PLACEHOLDER)).to_be_visible()
    sync_orgs = page.get_by_test_id("sync-organizations")
    sync_subs = page.get_by_test_id("sync-subscriptions")
    expect(sync_orgs).to_have_text("Sync Organizations")
    expect(sync_subs).to_have_text("Sync Subscriptions")
    sync_orgs.hover()
    expect(page.get_by_role("tooltip", name=SYNC_ORGANIZATIONS_TOOLTIP)).to_be_visible()
    sync_subs.hover()
    expect(page.get_by_role("tooltip", name=SYNC_SUBSCRIPTIONS_TOOLTIP)).to_be_visible()

    # sort by Organization Name descending and back
    names = page.locator("tbody th[scope=row]")
    first_ascending = names.first.inner_text()
    page.get_by_role("button", name="Organization Name", exact=True).click()
    name_header = page.get_by_role("columnheader", name="Organization Name", exact=True)
    expect(name_header).to_have_attribute("aria-sort", "descending")
    expect(names.first).not_to_have_text(first_ascending)
    page.get_by_role("button", name="Organization Name", exact=True).click()
    expect(names.first).to_have_text(first_ascending)

    # --- map by "Click to select" (name column) ----------------------------------------------
    page.get_by_label("Mapping Status").select_option(label="Unmapped")
    expect(page.locator("tbody tr").first).to_contain_text("Unmapped")
    row = page.locator("tbody tr").first
    org_name = row.locator("th").inner_text()
    expect(row.get_by_text("Click to select").first).to_be_visible()
    row.get_by_role("button", name=re.compile("^Click to select: PSA Organization Name")).click()
    name_box = row.get_by_role("combobox", name=re.compile("Search PSA organization name"))
    id_box = row.get_by_role("combobox", name=re.compile("Search PSA organization ID"))
    expect(name_box).to_be_focused()
    options = page.get_by_role("listbox").get_by_role("option")
    expect(options.first).to_be_visible()
    chosen = options.first.locator("span").first.inner_text()
    name_box.fill(chosen[:6])
    page.get_by_role("option", name=re.compile(re.escape(chosen))).first.click()
    expect(name_box).to_have_value(chosen)
    expect(id_box).to_have_value(re.compile(r"^\d+$"))  # the other field followed
    row.get_by_role("button", name=f"Save mapping: {org_name}").click()
    expect(page.get_by_text(f"{org_name} is mapped to {chosen}.")).to_be_visible()

    # --- the ID column: typing an ID fills the name; the red X cancels ------------------------
    page.get_by_label("Mapping Status").select_option(label="All")
    page.get_by_placeholder(SEARCH_PLACEHOLDER).fill(org_name)
    mapped_row = page.locator("tbody tr", has_text=org_name).first
    expect(mapped_row).to_contain_text("Mapped")
    # the row's icons: edit turns blue on hover, delete red
    edit = mapped_row.get_by_role("button", name=f"Edit mapping: {org_name}")
    delete = mapped_row.get_by_role("button", name=f"Delete mapping: {org_name}")
    edit.hover()
    expect(edit).to_have_css("color", BLUE)
    delete.hover()
    expect(delete).to_have_css("color", RED)
    psa_id = mapped_row.locator("td").nth(3).inner_text()
    page.get_by_placeholder(SEARCH_PLACEHOLDER).fill("")
    page.get_by_label("Mapping Status").select_option(label="Unmapped")
    other = page.locator("tbody tr").first
    expect(other).not_to_contain_text(org_name)
    other.get_by_role("button", name=re.compile("^Click to select: PSA Organization ID")).click()
    other_id_box = other.get_by_role("combobox", name=re.compile("Search PSA organization ID"))
    expect(other_id_box).to_be_focused()
    first_free = page.get_by_role("listbox").get_by_role("option").first
    expect(first_free).to_be_visible()
    free_id = first_free.locator("span").first.inner_text()
    other_id_box.fill(free_id)
    page.get_by_role("option", name=re.compile(rf"^{free_id}\b")).first.click()
    expect(
        other.get_by_role("combobox", name=re.compile("Search PSA organization name"))
    ).not_to_have_value("")
    assert free_id != psa_id  # only unmapped PSA organisations are offered
    other.get_by_role("button", name=re.compile("^Cancel editing")).click()
    expect(other.get_by_text("Click to select").first).to_be_visible()
    page.get_by_label("Mapping Status").select_option(label="All")

    # --- Sync Subscriptions: "Sync in progress" turns into a fresh tile, no reload -----------
    # HaloPSA holds its answers until the page has shown the run in progress, however busy
    # the machine (a slow HaloPSA only made it likely that the page was seen in time).
    site.simulator.instance().set_faults(hold=True)
    try:
        sync_subs.click()
        expect(sync_subs).to_have_text("Sync in progress")
        expect(sync_subs).to_be_disabled()
        expect(sync_orgs).to_be_disabled()
        expect(page.get_by_test_id("run-progress")).to_contain_text("Subscriptions sync")
    finally:
        site.simulator.instance().set_faults(hold=False)
    expect(psa_tile).to_contain_text("0h ago")
    expect(sync_subs).to_have_text("Sync Subscriptions")
    assert page.evaluate("() => window.__sameDocument === true")
    # --- the cooldown: buttons stay disabled, the warning sits at the bottom of the page -----
    warning = page.get_by_test_id("cooldown-warning")
    expect(warning).to_have_text(re.compile(r"You can trigger the next sync in \d+ minutes"))
    box = warning.bounding_box()
    assert box and box["y"] + box["height"] >= 900 - 2
    expect(sync_subs).to_be_disabled()
    expect(sync_orgs).to_be_enabled()
    # --- a row tells its own state (#16): the seller-wide cooldown does not hold one
    # organisation back (the backend's rule), its own sync starts its own cooldown, shown on
    # the row as soon as the run ends, before anyone clicks again ------------------------------
    mapped = page.locator("tbody tr", has_text=org_name)
    row_sync = mapped.get_by_role("button", name=re.compile("^Sync subscriptions"))
    expect(row_sync).to_be_enabled()
    row_sync.click()
    expect(row_sync).to_be_disabled()
    expect(row_sync).to_have_attribute(
        "title", re.compile(r"^You can trigger the next sync in \d+ minutes$")
    )

    # --- Configuration: the toggle, Cancel then Confirm ----------------------------------------
    page.get_by_role("link", name="Configuration").click()
    expect(page.get_by_role("heading", name="Sync behavior")).to_be_visible()
    toggle = page.get_by_role("switch", name="Sync unit prices to HaloPSA")
    expect(toggle).to_have_attribute("aria-checked", "false")
    toggle.click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text("unit prices")
    dialog.get_by_role("button", name="Cancel").click()
    expect(dialog).to_have_count(0)
    expect(toggle).to_have_attribute("aria-checked", "false")
    toggle.click()
    page.get_by_role("dialog").get_by_role("button", name="Confirm").click()
    expect(page.get_by_text("Sync price setting updated.")).to_be_visible()
    expect(toggle).to_have_attribute("aria-checked", "true")
    configuration = site.gql("journey", "{ configuration { syncUnitPrices } }")
    assert configuration["data"]["configuration"]["syncUnitPrices"] is True
    toggle.click()
    expect(page.get_by_role("dialog")).to_contain_text("Subscription-level totals")
    page.keyboard.press("Escape")
    expect(toggle).to_have_attribute("aria-checked", "true")

    # --- Logs & Monitoring: tiles, filter, paging, live entries --------------------------------
    page.get_by_role("link", name="Logs & Monitoring").click()
    for tile in ("Total Logs (30d)", "Errors (30d)", "Warnings (30d)", "Last Update"):
        expect(page.get_by_text(tile, exact=True)).to_be_visible()
    expect(page.get_by_test_id("tile-errors").locator(".tile-value")).to_have_class(
        re.compile("value-error")
    )
    expect(page.get_by_test_id("tile-warnings").locator(".tile-value")).to_have_class(
        re.compile("value-warning")
    )
    expect(page.get_by_test_id("tile-last-update")).to_contain_text(re.compile(r"UTC[+-]\d\d:\d\d"))
    expect(page.get_by_role("img", name=re.compile("sync runs in 30 days"))).to_be_visible()
    level = page.get_by_label("Level", exact=True)
    expect(level).to_have_value("ALL")
    expect(page.get_by_text("Subscriptions sync completed").first).to_be_visible()
    expect(page.get_by_text("Customers sync started").first).to_be_visible()
    timestamp = page.locator("tbody tr td").nth(1).inner_text()
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d", timestamp)
    total = int(page.get_by_test_id("tile-total").locator(".tile-value").inner_text())
    assert total > 20
    expect(page.get_by_text(f"1 – 20 of {total}")).to_be_visible()
    expect(page.get_by_text(f"{total} entries")).to_be_visible()
    page.get_by_role("button", name="Next page").click()
    expect(page.get_by_text(f"21 – {min(40, total)} of {total}")).to_be_visible()
    level.select_option(label="Error")
    errors = int(page.get_by_test_id("tile-errors").locator(".tile-value").inner_text())
    expect(page.get_by_text(f"1 – {min(20, errors)} of {errors}")).to_be_visible()
    badges = page.locator("tbody .badge")
    assert set(badges.all_inner_texts()) == {"ERROR"}
    level.select_option(label="All")
    # a sync started elsewhere (another tab, the schedule) shows up without a reload
    site.gql("journey", "mutation { syncOrganizations { id } }")
    expect(page.get_by_test_id("tile-total").locator(".tile-value")).not_to_have_text(str(total))
    assert page.evaluate("() => window.__sameDocument === true")

    # --- HaloPSA stops answering: mapped rows say "Response Error", with the seed's tooltip --
    page.get_by_role("link", name="Mapping").click()
    expect(sync_orgs).to_be_enabled()
    site.simulator.instance().set_faults(revoked=True)
    try:
        sync_orgs.click()
        error_badge = page.locator("tbody tr", has_text=org_name).get_by_text("Response Error")
        expect(error_badge).to_be_visible()
    finally:
        site.simulator.instance().set_faults(revoked=False)
    error_badge.hover()
    expect(
        page.get_by_role("tooltip", name="Please refresh the page in a few minutes and try again.")
    ).to_be_visible()


def test_a_seller_maps_an_organization_with_the_keyboard_only(page, site: WebGateway) -> None:
    from playwright.sync_api import expect

    _open(page, site, "ready", "/mapping")
    expect(page.get_by_test_id("tile-platform")).to_contain_text("0h ago")
    page.get_by_label("Mapping Status").focus()  # start of the grid's controls, by keyboard:
    page.keyboard.press("Escape")
    for _ in range(80):
        page.keyboard.press("Tab")
        if page.evaluate("() => document.activeElement?.textContent") == "Click to select":
            break
    else:
        pytest.fail("Tab never reached a 'Click to select'")
    row_name = page.evaluate(
        "() => document.activeElement.closest('tr').querySelector('th').textContent"
    )
    page.keyboard.press("Enter")
    row = page.locator("tbody tr", has_text=row_name)
    name_box = row.get_by_role("combobox", name=re.compile("Search PSA organization name"))
    expect(name_box).to_be_focused()
    expect(page.get_by_role("listbox").get_by_role("option").first).to_be_visible()
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Enter")
    chosen = name_box.input_value()
    assert chosen
    page.keyboard.press("Tab")  # the ID field
    page.keyboard.press("Tab")  # the green check
    expect(row.get_by_role("button", name=f"Save mapping: {row_name}")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.get_by_text(f"{row_name} is mapped to {chosen}.")).to_be_visible()
    expect(page.locator("tbody tr", has_text=row_name)).to_contain_text("Mapped")


def test_no_page_has_serious_or_critical_accessibility_violations(browser, site) -> None:
    from playwright.sync_api import expect

    expect.set_options(timeout=UI_TIMEOUT_MS)
    # axe is injected as a script: the app's CSP (script-src 'self') would refuse it.
    context = browser.new_context(viewport={"width": 1440, "height": 900}, bypass_csp=True)
    page = context.new_page()
    try:
        _open(page, site, "ready", "/mapping")
        expect(page.get_by_test_id("tile-platform")).to_contain_text("0h ago")
        found = {"mapping": axe_violations(page)}
        # and no page is wider than the window (a hidden tooltip once made it scroll sideways);
        # the right-hand sync button's tooltip, shown, stays inside too
        wider = {"mapping": _overflow(page)}
        page.get_by_test_id("sync-subscriptions").hover()
        expect(page.get_by_role("tooltip").locator("visible=true")).to_have_count(1)
        wider["mapping, tooltip shown"] = _overflow(page)
        row = page.locator("tbody tr", has_text="Unmapped").first
        row.get_by_role(
            "button", name=re.compile("^Click to select: PSA Organization Name")
        ).click()
        expect(page.get_by_role("listbox").get_by_role("option").first).to_be_visible()
        found["mapping, picker open"] = axe_violations(page)
        page.keyboard.press("Escape")
        for name, heading in (
            ("Logs & Monitoring", "Logs & Monitoring"),
            ("Drift check", "Drift check"),
            ("Connection settings", "Connection settings"),
            ("Configuration", "Configuration"),
        ):
            page.get_by_role("link", name=name).click()
            expect(page.get_by_role("heading", name=heading, exact=True)).to_be_visible()
            page.wait_for_load_state("networkidle")
            found[name] = axe_violations(page)
            wider[name] = _overflow(page)
        page.get_by_role("switch").click()
        expect(page.get_by_role("dialog")).to_be_visible()
        found["configuration modal"] = axe_violations(page)
    finally:
        context.close()
    assert {k: v for k, v in found.items() if v} == {}
    assert {k: v for k, v in wider.items() if v} == {}


def _overflow(page: Any) -> int:
    """How many pixels the page is wider than its window (0: no sideways scrolling)."""
    return int(
        page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    )


def test_a_seller_checks_for_drift_and_reads_what_differs_in_halopsa(page, site) -> None:
    """Someone entered a licence by hand under each HaloPSA client: the check finds the one
    under the mapped client (not written by this integration), and says so on the page.

    Before the tests that start a gateway of their own: stopping one stops Dramatiq's
    process-wide event loop thread, and this module's gateway runs no actor after that."""
    instance = site.simulator.instance()
    entered = [
        instance.add_licence(client_id, f"Entered by hand {client_id}")["id"]
        for client_id in list(instance.clients)
    ]
    try:
        _check_drift_on_the_page(page, site)
    finally:  # the later tests map clients of their own: they must find them as they were
        for licence_id in entered:
            instance.licences.pop(licence_id, None)


def _check_drift_on_the_page(page: Any, site: WebGateway) -> None:
    from playwright.sync_api import expect

    _open(page, site, "ready", "/mapping")
    page.get_by_role("link", name="Drift check").click()
    expect(page.get_by_role("heading", name="Drift check", exact=True)).to_be_visible()
    expect(page.get_by_test_id("drift-last-check")).to_have_text("No drift check has run yet.")

    page.get_by_test_id("drift-check-now").click()

    expect(page.get_by_test_id("drift-last-check")).to_contain_text("Last check:")
    # One per mapped client (the other tests of the module map some), none of the others
    mapped = site.gql("ready", "{ mappings { organizationId } }")["data"]["mappings"]
    expect(page.get_by_test_id("drift-foreign")).to_contain_text(str(len(mapped)))
    rows = page.locator("tbody tr", has_text="Entered by hand")
    expect(rows).to_have_count(len(mapped))
    expect(rows.first).to_contain_text("Not ours")
    expect(rows.first).to_contain_text("not written by this integration")
    expect(page.get_by_test_id("drift-check-now")).to_have_text("Check now")


def _until_run_stops(site: WebGateway, seller: str, kind: str) -> str:
    query = f"{{ syncOverview {{ {kind} {{ state lastRun {{ id state }} }} }} }}"
    for _ in range(300):
        status = site.gql(seller, query)["data"]["syncOverview"][kind]
        if status["state"] != "IN_PROGRESS" and status["lastRun"]:
            return str(status["lastRun"]["state"])
        time.sleep(0.1)
    pytest.fail(f"the {kind} sync of {seller} did not stop")


def _subscriptions(org: str, names: tuple[str, ...], quantity: int) -> list[dict[str, Any]]:
    return [
        {
            "id": f"{org}-{name}",
            "organizationId": org,
            "name": name,
            "quantity": quantity,
            "billingCycle": "Monthly",
            "termDuration": "1 Year",
            "status": "ACTIVE",
            "costPrice": "100.00",
            "customerPrice": "120.00",
        }
        for name in names
    ]


ACME = ("Microsoft 365 E3", "Defender for Business", "Azure Plan")
GLOBEX = ("Exchange Online", "Teams Phone", "Intune")
UPSERT_ORGS = "mutation ($i: [OrganizationInput!]!) { upsertOrganizations(input: $i) { created } }"
UPSERT_SUBS = "mutation ($i: [SubscriptionInput!]!) { upsertSubscriptions(input: $i) { created } }"
SYNC_ONE = "mutation ($o: ID!) { syncOrganizationSubscriptions(organizationId: $o) { id } }"


def test_a_seller_reviews_existing_licences_and_approves_a_held_sync(page, site) -> None:
    """Day one and the safety valve, as the seller sees them on the Mapping page."""
    from playwright.sync_api import expect

    # Given two newly mapped HaloPSA organizations of their own; Acme's already holds a
    # licence typed in by hand
    gql, sim = site.gql, site.simulator.instance()
    clients = {org: sim.add_client(f"Day one {org}") for org in ("acme", "globex")}
    gql("dayone", "mutation { syncOrganizations { id } }")
    assert _until_run_stops(site, "dayone", "organizations") == "SUCCEEDED"
    orgs = [{"id": o, "name": o.title(), "reference": o, "status": "ACTIVE"} for o in clients]
    gql("dayone", UPSERT_ORGS, {"i": orgs})
    subs = _subscriptions("acme", ACME, 10) + _subscriptions("globex", GLOBEX, 10)
    assert "errors" not in gql("dayone", UPSERT_SUBS, {"i": subs})
    for org, client in clients.items():
        assert "errors" not in gql("dayone", MAP, {"org": org, "psa": str(client["id"])})
    hand = sim.add_licence(clients["acme"]["id"], "Microsoft 365 E3", count=10)
    gql("dayone", "mutation { syncSubscriptions { id } }")
    assert _until_run_stops(site, "dayone", "subscriptions") == "SUCCEEDED"
    assert [lic["id"] for lic in sim.licences_of(clients["acme"]["id"])] == [hand["id"]]
    # When the seller reviews it: the suggested pair is preselected, and claimed
    _open(page, site, "dayone", "/mapping")
    row = page.locator("tbody tr", has_text="Acme")
    row.get_by_role("button", name="Review 1 existing licence").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text("10 seats · price 0.00 · Monthly")
    expect(dialog).to_contain_text("Suggested match (score 100 of 100)")
    expect(dialog.get_by_role("combobox")).to_have_value("acme-Microsoft 365 E3")
    dialog.get_by_role("button", name="Claim selected pairs").click()
    expect(page.get_by_text("Review done")).to_be_visible()
    expect(row.get_by_role("button", name=re.compile("existing licence"))).to_have_count(0)
    # When Globex's seats collapse (30 → 3), its sync is held and the page says what it would do
    assert "errors" not in gql("dayone", UPSERT_SUBS, {"i": _subscriptions("globex", GLOBEX, 1)})
    gql("dayone", SYNC_ONE, {"o": "globex"})
    assert _until_run_stops(site, "dayone", "subscriptions") == "NEEDS_APPROVAL"
    held = page.get_by_test_id("held-run")
    expect(held).to_contain_text("A subscriptions sync is waiting for your approval")
    expect(held).to_contain_text("lower seats from 30 to 3")
    assert {lic["count"] for lic in sim.licences_of(clients["globex"]["id"])} == {10}
    # Then approved, it runs
    held.get_by_role("button", name="Approve and run").click()
    expect(held).to_have_count(0)
    assert _until_run_stops(site, "dayone", "subscriptions") == "SUCCEEDED"
    assert {lic["count"] for lic in sim.licences_of(clients["globex"]["id"])} == {1}
    # And Acme's next sync updates the claimed licence and creates the two others
    gql("dayone", SYNC_ONE, {"o": "acme"})
    assert _until_run_stops(site, "dayone", "subscriptions") == "SUCCEEDED"
    acme = sim.licences_of(clients["acme"]["id"])
    assert len(acme) == 3 and hand["id"] in {lic["id"] for lic in acme}
    assert sim.licences[hand["id"]]["price"] == 120.0


def test_a_user_without_an_allowed_role_sees_no_access(page, site) -> None:
    from playwright.sync_api import expect

    _open(page, site, "ready", "/mapping", role="SELLER_VIEWER")
    expect(page.get_by_role("heading", name="No access")).to_be_visible()
    expect(page.get_by_text("Seller Admin, Seller Agent Admin")).to_be_visible()
    assert "token" not in page.url


class _Network:
    """The page's websockets through Playwright: cut while ``offline`` (a new socket is
    refused as a restarting gateway would), each open one kept as (page side, gateway side);
    ``wire`` may watch and forward the frames of a new one."""

    def __init__(self, page, wire=None) -> None:
        self.offline = False
        self.sockets: list[Any] = []
        self.wire = wire
        page.route_web_socket(re.compile(r".*/graphql$"), self._route)

    def _route(self, ws) -> None:
        if self.offline:
            ws.close(code=1012, reason="gateway restarting")
            return
        server = ws.connect_to_server()
        self.sockets.append((ws, server))
        if self.wire is not None:
            self.wire(ws, server)

    def cut(self) -> None:
        self.offline = True
        for ws, server in self.sockets:
            server.close()
            ws.close(code=1001, reason="going away")


def test_a_dropped_websocket_reconnects_and_shows_the_current_state(page, site) -> None:
    """The socket drops while a sync runs; it ends meanwhile; no stale "Sync in progress"."""
    from playwright.sync_api import expect

    network = _Network(page)
    _open(page, site, "ready", "/mapping")
    sync_subs = page.get_by_test_id("sync-subscriptions")
    psa_tile = page.get_by_test_id("tile-psa")
    expect(sync_subs).to_have_text("Sync Subscriptions")
    expect(psa_tile).to_contain_text("Never")
    site.simulator.instance().set_faults(latency_ms=SLOW_HALO_MS)
    try:
        sync_subs.click()
        expect(sync_subs).to_have_text("Sync in progress")
        # When the connection drops and the sync finishes while the page is offline
        network.cut()
        expect(page.get_by_text("Reconnecting to live updates…")).to_be_visible()
    finally:
        site.simulator.instance().set_faults(latency_ms=20)
    for _ in range(300):
        overview = site.gql("ready", "{ syncOverview { subscriptions { state } } }")
        if overview["data"]["syncOverview"]["subscriptions"]["state"] != "IN_PROGRESS":
            break
        time.sleep(0.1)
    assert sync_subs.inner_text() == "Sync in progress"  # the page missed the end
    # Then, back online, the page shows the current state without a reload
    network.offline = False
    expect(page.get_by_text("Reconnecting to live updates…")).to_have_count(0)
    expect(sync_subs).to_have_text("Sync Subscriptions")
    expect(psa_tile).to_contain_text("0h ago")
    expect(page.get_by_test_id("cooldown-warning")).to_be_visible()


def test_a_page_that_reconnects_mid_run_gets_exactly_the_events_it_missed(page, site) -> None:
    """The socket drops during a run that goes on; back online, the page subscribes again from
    the last event it saw and the gateway replays what it missed, in order, without RESYNC."""
    import json

    from playwright.sync_api import expect

    ids: set[str] = set()
    resumed_with: list[dict] = []  # the variables of each syncEvents subscribe the page sent
    received: list[dict] = []  # the syncEvents results it got

    def wire(ws, server) -> None:
        def to_gateway(message: str) -> None:
            frame = json.loads(message)
            if frame.get("type") == "subscribe" and "syncEvents(" in frame["payload"]["query"]:
                ids.add(frame["id"])
                resumed_with.append(frame["payload"].get("variables") or {})
            server.send(message)

        def to_page(message: str) -> None:
            frame = json.loads(message)
            if frame.get("type") == "next" and frame.get("id") in ids:
                received.append(frame["payload"]["data"]["syncEvents"])
            ws.send(message)

        ws.on_message(to_gateway)
        server.on_message(to_page)

    def until(condition) -> None:
        for _ in range(UI_TIMEOUT_MS // 100):
            if condition():
                return
            page.wait_for_timeout(100)
        raise AssertionError("timed out")

    network = _Network(page, wire)
    _open(page, site, "ready", "/mapping")
    until(lambda: resumed_with)
    site.simulator.instance().set_faults(latency_ms=SLOW_HALO_MS)
    try:
        run = site.gql("ready", "mutation { syncOrganizations { id } }")["data"]
        until(lambda: any(e["runId"] == run["syncOrganizations"]["id"] for e in received))
        # When the connection drops while the run goes on
        network.cut()
        seen = len(received)
        last = received[-1]
        expect(page.get_by_text("Reconnecting to live updates…")).to_be_visible()
    finally:
        site.simulator.instance().set_faults(latency_ms=20)
    for _ in range(300):
        runs = site.gql("ready", "{ syncRuns(kind: ORGANIZATIONS, first: 1) { state } }")
        if runs["data"]["syncRuns"][0]["state"] != "RUNNING":
            break
        time.sleep(0.1)
    # Then, back online, it resumes after the last sequence it saw …
    network.offline = False
    expect(page.get_by_text("Reconnecting to live updates…")).to_have_count(0)
    until(lambda: any(e["phase"] == "COMPLETED" for e in received[seen:]))
    assert resumed_with[-1] == {"afterSequence": last["sequence"], "epoch": last["epoch"]}
    # … and gets every event it missed, in order, each once, up to the run's end
    missed = received[seen:]
    assert [e["sequence"] for e in missed] == list(
        range(last["sequence"] + 1, last["sequence"] + 1 + len(missed))
    )
    assert "RESYNC" not in {e["phase"] for e in missed}
    assert missed[-1]["phase"] == "COMPLETED"


UNMAPPED_ROWS = """{ organizations(filter: {mappingStatus: [UNMAPPED]}, pageSize: 50)
{ rows { id name } } }"""


def test_a_row_sync_shows_its_progress_on_that_row(page, site: WebGateway) -> None:
    """Sync events name the organisation by the grid's id: the row it is about shows them.

    (Before any test that builds a gateway of its own: the last one built owns the process's
    Dramatiq broker, and the module's gateway would queue runs nobody takes.)
    """
    from playwright.sync_api import expect

    # Given: an organisation mapped just now, so its subscriptions have yet to be written
    org = site.gql("ready", UNMAPPED_ROWS)["data"]["organizations"]["rows"][0]
    psa = site.gql("ready", "{ psaOrganizations(first: 1) { id } }")["data"]["psaOrganizations"]
    mapped = site.gql("ready", MAP, {"org": org["id"], "psa": str(psa[0]["id"])})
    assert "errors" not in mapped, mapped
    _open(page, site, "ready", "/mapping")
    row = page.locator(f'tbody tr[data-org="{org["id"]}"]')
    expect(row).to_be_visible()
    expect(row.get_by_test_id("row-progress")).to_have_count(0)
    site.simulator.instance().set_faults(latency_ms=SLOW_HALO_MS)
    try:
        # When that organisation's subscriptions sync runs (started in another tab)
        started = site.gql("ready", SYNC_ONE, {"o": org["id"]})
        assert "errors" not in started, started
        # Then its row, and only its row, shows the run's live counts
        expect(row).to_have_attribute("aria-busy", "true")
        expect(row.get_by_test_id("row-progress")).to_have_text(re.compile(r"^\d+ / \d+ records$"))
        expect(page.locator('tbody tr[aria-busy="true"]')).to_have_count(1)
        expect(page.get_by_test_id("run-progress")).to_contain_text(org["name"])
    finally:
        site.simulator.instance().set_faults(latency_ms=20)
    expect(row.get_by_test_id("row-progress")).to_have_count(0)


def test_live_updates_survive_the_socket_token_expiring(browser, tmp_path) -> None:
    """The gateway closes a socket when its token expires; the app renews and re-subscribes."""
    from playwright.sync_api import expect

    expect.set_options(timeout=UI_TIMEOUT_MS)
    # Session tokens of 12 s (renewed after 9 s) and no leeway: the first socket's token
    # expires within seconds.
    settings = make_settings(
        f"sqlite://{tmp_path / 'gateway.sqlite3'}",
        tmp_path,
        session_token_seconds=12,
        jwt_leeway_seconds=0,
    )
    with web_gateway(settings, {"short": {"organizations": 4, "connected": True}}, 4) as site:
        context = browser.new_context(viewport={"width": 1440, "height": 900})
        page = context.new_page()
        sockets = _SocketWatch(page)
        try:
            _open(page, site, "short", "/mapping")
            tile = page.get_by_test_id("tile-platform")
            expect(tile).to_contain_text("Never")
            first = page.evaluate("() => sessionStorage.getItem('halo-gateway.session')")
            # When the app has renewed its own token and the socket's token has expired
            page.wait_for_function(
                "first => sessionStorage.getItem('halo-gateway.session') !== first",
                arg=first,
                timeout=CONDITION_TIMEOUT_MS,
            )
            assert page.evaluate("() => sessionStorage.getItem('halo-gateway.session')") != first
            sockets.until_closed(0)
            # … and the app has subscribed again on a new socket, which the gateway serves
            # (a sync started before that would finish unseen: a race, not the behaviour)
            sockets.until_resubscribed(site)
            # Then a sync started elsewhere still reaches the page live
            site.gql("short", "mutation { syncOrganizations { id } }")
            expect(tile).to_contain_text("0h ago")
            expect(page.get_by_text("No access")).to_have_count(0)
            expect(page.get_by_role("heading", name="Mapping")).to_be_visible()
        finally:
            context.close()
