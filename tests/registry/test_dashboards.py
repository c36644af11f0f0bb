"""Each role's dashboard, read in a fixed number of statements (#11), lists what a device-by-device
walk through the services lists."""

from __future__ import annotations

from collections import Counter

import pytest

from registry import lifecycle
from registry.auth import Actor
from registry.models import OrganisationKind, Role, Stage, Theme
from registry.services import devices
from registry.web import present
from tests import factories


@pytest.fixture
def registry(session):
    """Two manufacturers' devices, published or not, deployed at two hospitals and granted to
    a reviewing and an auditing organisation, with a user of each role."""
    users = {role: factories.UserFactory(role=role) for role in Role}
    other_hospital = factories.OrganisationFactory(kind=OrganisationKind.hospital)
    other_maker = factories.OrganisationFactory()
    hospital = users[Role.hospital].organisation_id
    for n in range(8):
        maker = users[Role.manufacturer].organisation_id if n % 2 else other_maker.id
        device = factories.DeviceFactory(manufacturer_id=maker, is_published=n % 3 == 0,
                                         stage=list(Stage)[n % 7], theme=list(Theme)[n % 4])
        if n % 4 != 3:
            factories.deploy(session, device, hospital if n % 2 else other_hospital.id)
        if n % 3 != 2:
            factories.grant(session, device, users[Role.reviewer].organisation_id)
        if n % 2:
            factories.grant(session, device, users[Role.auditor].organisation_id, "audit")
    return {role: Actor.from_user(user) for role, user in users.items()}


def _walk(session, actor: Actor) -> dict:
    """The dashboard recomputed device by device, with the one-device service functions."""
    found = present.all_devices(session, actor)
    names = present.organisation_names(session, actor)
    if actor.role is Role.manufacturer:
        by_stage = {s.value: [] for s in Stage}
        for d in found:
            if d.manufacturer_id == actor.organisation_id:
                unmet = lifecycle.unmet_requirements(d.stage, devices.gate_context(session, d))
                by_stage[d.stage.value].append((d.code, len(unmet)))
        return {"by_stage": by_stage, "total": sum(map(len, by_stage.values()))}
    if actor.role in (Role.reviewer, Role.auditor):
        return {"granted": [(d.code, names[d.manufacturer_id], g.purpose) for d in found
                            for g in devices.grants_of(session, d)
                            if g.organisation_id == actor.organisation_id]}
    if actor.role is Role.hospital:
        rows = []
        for d in found:
            versions = {v.id: v.version for v in devices.versions_of(session, d)}
            rows += [(x.site, d.code, d.stage.value, versions[x.model_version_id], x.id)
                     for x in devices.deployments_of(session, d)
                     if x.hospital_id == actor.organisation_id]
        return {"deployments": sorted(rows)}
    if actor.role is Role.authority:
        at = Counter((d.theme.value, d.stage.value) for d in found)
        return {"at": {t.value: [at[(t.value, s.value)] for s in Stage] for t in Theme},
                "total": len(found)}
    return {"devices": len(found)}


def _shown(data: dict, role: Role) -> dict:
    """The dashboard's data in the shape of ``_walk``."""
    if role is Role.manufacturer:
        return {"by_stage": {s: [(r["code"], r["unmet"]) for r in rows]
                             for s, rows in data["by_stage"].items()}, "total": data["total"]}
    if role in (Role.reviewer, Role.auditor):
        return {"granted": [(r["code"], r["manufacturer"], r["purpose"])
                            for r in data["granted"]]}
    if role is Role.hospital:
        return {"deployments": sorted((r["site"], r["code"], r["stage"], r["version"], r["id"])
                                      for r in data["deployments"])}
    if role is Role.authority:
        return {"at": {row["theme"]: row["at"] for row in data["matrix"]},
                "total": data["total"]}
    return {"devices": data["devices"]}


# Rows of each role's dashboard in the registry above (of its 8 devices): the manufacturer's
# odd-numbered devices, the grants (n % 3 != 2; odd n), the deployments at the hospital (odd n
# but not n % 4 == 3), every device.
ROWS = {Role.manufacturer: 4, Role.reviewer: 6, Role.auditor: 4, Role.hospital: 2,
        Role.authority: 8, Role.admin: 8}


@pytest.mark.parametrize("role", list(Role))
def test_dashboard_lists_what_a_device_by_device_walk_lists(session, registry, role):
    actor = registry[role]
    expected = _walk(session, actor)
    assert _shown(present.dashboard(session, actor), role) == expected
    shown = expected.get("total", expected.get("devices"))
    assert (len(next(iter(expected.values()))) if shown is None else shown) == ROWS[role]
