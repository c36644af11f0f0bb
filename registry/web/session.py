"""Flask-Login's view of a signed-in user."""

from __future__ import annotations

from flask_login import UserMixin
from sqlmodel import select

from registry.auth import Actor
from registry.db import Database
from registry.models import Organisation, User
from registry.services import notifications


class SessionUser(UserMixin):
    def __init__(self, user: User, organisation_name: str = "", inbox_unread: int = 0) -> None:
        self.id = str(user.id)
        self.actor = Actor.from_user(user)
        self.name = user.name
        self.email = user.email
        self.role = user.role
        self.organisation_id = user.organisation_id
        self.organisation_name = organisation_name
        self.inbox_unread = inbox_unread  # as the request began; the navigation shows it


def load_session_user(database: Database, user_id: str) -> SessionUser | None:
    """The signed-in user, their organisation's name and unread inbox count: what every page's
    header shows, read in one short unit of work."""
    if not user_id.isdigit():
        return None
    with database.unit_of_work() as session:
        row = session.exec(select(User, Organisation.name).outerjoin(
            Organisation, Organisation.id == User.organisation_id).where(
            User.id == int(user_id))).first()
        if row is None or not row[0].is_active:
            return None
        user, organisation_name = row
        unread = notifications.unread_count(session, Actor.from_user(user))
        return SessionUser(user, organisation_name or "", unread)
