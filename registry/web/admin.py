"""Admin pages: organisations and users (the services refuse anyone without the permission)."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_login import login_required

from registry.db import unit_of_work
from registry.errors import ConflictError, InvalidInputError
from registry.identity import current_actor
from registry.models import OrganisationKind, Role
from registry.schemas import OrganisationIn, OrganisationOut, UserIn, UserOut
from registry.services import organisations
from registry.web import bp
from registry.web.forms import Errors, parse, registry_errors
from registry.web.present import KIND_LABELS, dump, dump_all

ORGANISATION_FIELDS = [
    ("name", "Name", "text", None),
    ("kind", "Kind", "select", [(k.value, KIND_LABELS[k]) for k in OrganisationKind]),
    ("city", "City", "text", None),
    ("region", "Region", "text", None),
    ("actor_srn", "Actor SRN or NB number", "text", None),
]


def _organisation_page(errors: Errors | None = None, status: int = 200):
    return render_template("admin_organisation.html", fields=ORGANISATION_FIELDS,
                           errors=errors or {}, values=request.form), status


@bp.get("/admin/organisations/new")
@login_required
def new_organisation():
    return _organisation_page()


@bp.post("/admin/organisations")
@login_required
def create_organisation():
    data, errors = parse(OrganisationIn, request.form)
    if errors:
        return _organisation_page(errors, 422)
    try:
        with unit_of_work() as session:
            org = organisations.create_organisation(session, current_actor(session), data)
            org_id, name = org.id, org.name
    except (InvalidInputError, ConflictError) as exc:
        return _organisation_page(registry_errors(exc), exc.status)
    flash(f"Organisation '{name}' created.", "success")
    return redirect(url_for("web.organisation_detail", organisation_id=org_id))


def _users_page(errors: Errors | None = None, status: int = 200):
    with unit_of_work() as session:
        actor = current_actor(session)
        users = dump_all(UserOut, organisations.list_users(session, actor))
        orgs = [dump(OrganisationOut, o) for o in organisations.list_organisations(session, actor)]
    names = {o["id"]: o["name"] for o in orgs}
    fields = [
        ("name", "Full name", "text", None),
        ("email", "E-mail", "email", None),
        ("password", "Initial password", "password", None),
        ("organisation_id", "Organisation", "select",
         [(str(o["id"]), f"{o['name']} ({KIND_LABELS[OrganisationKind(o['kind'])]})")
          for o in orgs]),
        ("role", "Role", "select", [(r.value, r.value) for r in Role]),
    ]
    return render_template("admin_users.html", users=users, names=names, fields=fields,
                           errors=errors or {}, values=request.form), status


@bp.get("/admin/users")
@login_required
def users():
    return _users_page()


@bp.post("/admin/users")
@login_required
def create_user():
    data, errors = parse(UserIn, request.form)
    if errors:
        return _users_page(errors, 422)
    try:
        with unit_of_work() as session:
            email = organisations.create_user(session, current_actor(session), data).email
    except (InvalidInputError, ConflictError) as exc:
        return _users_page(registry_errors(exc), exc.status)
    flash(f"User {email} created.", "success")
    return redirect(url_for("web.users"))


@bp.post("/admin/users/<int:user_id>/active")
@login_required
def set_user_active(user_id: int):
    active = request.form.get("active") == "1"
    with unit_of_work() as session:
        email = organisations.set_user_active(session, current_actor(session), user_id,
                                              active).email
    flash(f"User {email} {'activated' if active else 'deactivated'}.", "success")
    return redirect(url_for("web.users"))
