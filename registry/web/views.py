"""Web pages: parse the form, call one service function, render plain data."""

from __future__ import annotations

from flask import redirect, render_template, request, url_for
from flask_login import login_required, login_user, logout_user

from registry.db import unit_of_work
from registry.services import organisations
from registry.web import bp
from registry.web.session import SessionUser


@bp.route("/login", methods=["GET", "POST"])
def login():
    error = None
    if request.method == "POST":
        with unit_of_work() as session:
            user = organisations.authenticate(session, request.form.get("email", ""),
                                              request.form.get("password", ""))
            if user is not None:
                login_user(SessionUser(user))
                return redirect(url_for("web.dashboard"))
        error = "Unknown e-mail or wrong password."
    return render_template("login.html", error=error), 401 if error else 200


@bp.post("/logout")
def logout():
    logout_user()
    return redirect(url_for("web.login"))


@bp.route("/")
@login_required
def dashboard():
    return render_template("base.html")
