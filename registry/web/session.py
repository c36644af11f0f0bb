"""Flask-Login's view of a signed-in user."""

from __future__ import annotations

from flask_login import UserMixin

from registry.auth import Actor
from registry.db import Database
from registry.models import Organisation, User


class SessionUser(UserMixin):
    def __init__(self, user: User, organisation_name: str = "") -> None:
        self.id = str(user.id)
        self.actor = Actor.from_user(user)
        self.name = user.name
        self.email = user.email
        self.role = user.role
        self.organisation_id = user.organisation_id
        self.organisation_name = organisation_name


def load_session_user(database: Database, user_id: str) -> SessionUser | None:
    if not user_id.isdigit():
        return None
    with database.unit_of_work() as session:
        user = session.get(User, int(user_id))
        if user is None or not user.is_active:
            return None
        organisation = session.get(Organisation, user.organisation_id)
        return SessionUser(user, organisation.name if organisation else "")
