"""Districts, vendors and connections from the command line: add, edit, show, connect, retire."""

from tests.support.cli import T


def test_retire_stops_tracking_and_keeps_history(ready):
    ready("retire", "6001000", today=T)
    assert [r["lea"] for r in ready.json("status", today=T)] == ["0401000"]
    assert ready.json("history", "6001000")[-1]["kind"] == "retired"


def test_connect_all_connects_every_district_without_one(ready):
    out = ready.json("connect", "--all", today=T)
    assert out["connected"] == 255
    statuses = {r["lea"]: r["status"] for r in ready.json("status", today=T)}
    assert statuses["0401000"] == "scripted" and statuses["6001000"] == "lapsed" and len(statuses) == 257


def test_vendors_are_added_listed_and_edited(ready):
    ready("vendor", "add", "Naviance", "--onboarding-email", "onboard@naviance.example")
    ready("vendor", "edit", "naviance", "--onboarding-name", "Robin")
    vendors = {v["name"]: v for v in ready.json("vendor", "list")}
    assert vendors["Naviance"]["onboarding_name"] == "Robin" and vendors["Xello"]["connections"] == 2


def test_districts_are_added_edited_and_shown(ready):
    ready("district", "add", "6099700", "New Charter", "--county", "Pulaski", "--email", "a@nc.example")
    ready("district", "edit", "6099700", "--add-email", "b@nc.example", "--remove-email", "a@nc.example")
    shown = ready.json("district", "show", "6099700")
    assert shown["county"] == "Pulaski" and [c["email"] for c in shown["contacts"]] == ["b@nc.example"]
