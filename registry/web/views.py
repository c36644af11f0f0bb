"""Signing in and out, the dashboard, organisations and API tokens."""

from __future__ import annotations

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required, login_user, logout_user
from werkzeug.datastructures import MultiDict

from registry import auth
from registry.db import unit_of_work
from registry.errors import InvalidInputError
from registry.identity import current_actor
from registry.ratelimit import login_limits
from registry.schemas import OrganisationOut, TokenIn, TokenOut
from registry.services import organisations
from registry.web import bp
from registry.web.forms import parse, registry_errors
from registry.web.present import all_devices, device_row, dump, dump_all
from registry.web.present import dashboard as dashboard_data
from registry.web.session import SessionUser


def _safe_next(target: str | None) -> str | None:
    """Only a path on this site (no scheme, no host) is followed after sign-in."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return None


@bp.route("/login", methods=["GET", "POST"])
@login_limits
def login():
    if current_user.is_authenticated:
        return redirect(url_for("web.dashboard"))
    error = None
    if request.method == "POST":
        email = request.form.get("email", "")
        with unit_of_work() as session:
            user = organisations.authenticate(session, email, request.form.get("password", ""))
            if user is not None:
                login_user(SessionUser(user))
                return redirect(_safe_next(request.args.get("next"))
                                or url_for("web.dashboard"))
        error = "Unknown e-mail or wrong password (or the account is deactivated)."
    return render_template("login.html", error=error,
                           email=request.form.get("email", "")), 401 if error else 200


@bp.post("/logout")
def logout():
    logout_user()
    flash("You are signed out.", "info")
    return redirect(url_for("web.login"))


@bp.get("/")
@login_required
def dashboard():
    with unit_of_work() as session:
        data = dashboard_data(session, current_actor(session))
    return render_template("dashboard.html", data=data)


# --- organisations ----------------------------------------------------------------------------


@bp.get("/organisations")
@login_required
def organisation_list():
    with unit_of_work() as session:
        orgs = dump_all(OrganisationOut, organisations.list_organisations(
            session, current_actor(session)))
    return render_template("organisations.html", organisations=orgs)


@bp.get("/organisations/<int:organisation_id>")
@login_required
def organisation_detail(organisation_id: int):
    with unit_of_work() as session:
        actor = current_actor(session)
        org = dump(OrganisationOut, organisations.get_organisation(session, actor,
                                                                   organisation_id))
        names = {organisation_id: org["name"]}
        rows = [device_row(d, names)
                for d in all_devices(session, actor, manufacturer_id=organisation_id)]
    return render_template("organisation.html", organisation=org, devices=rows)


# --- API tokens -------------------------------------------------------------------------------


def _tokens_page(created: dict | None = None, errors: dict | None = None, status: int = 200):
    with unit_of_work() as session:
        actor = current_actor(session)
        tokens = dump_all(TokenOut, organisations.list_tokens(session, actor))
    scopes = sorted(p.value for p in auth.RULES[actor.role])
    # After a creation the form starts blank again; after an error it keeps what was typed.
    form = request.form if errors else MultiDict()
    return render_template("tokens.html", tokens=tokens, scopes=scopes, created=created,
                           errors=errors or {}, form=form), status


@bp.get("/tokens")
@login_required
def tokens():
    return _tokens_page()


@bp.post("/tokens")
@login_required
def create_token():
    data, errors = parse(TokenIn, request.form)
    if errors:
        return _tokens_page(errors=errors, status=422)
    lifetime_days = current_app.extensions["dmd"]["settings"].token_lifetime_days
    try:
        with unit_of_work() as session:
            clear, row = organisations.create_token(session, current_actor(session), data,
                                                    lifetime_days)
            created = {"token": clear, **dump(TokenOut, row)}
    except InvalidInputError as exc:
        return _tokens_page(errors=registry_errors(exc), status=422)
    # Rendered, not redirected: the secret must never sit in a session cookie or a URL.
    return _tokens_page(created=created, status=201)


@bp.post("/tokens/<int:token_id>/revoke")
@login_required
def revoke_token(token_id: int):
    with unit_of_work() as session:
        row = organisations.revoke_token(session, current_actor(session), token_id)
        name = row.name
    flash(f"Token '{name}' revoked.", "success")
    return redirect(url_for("web.tokens"))
