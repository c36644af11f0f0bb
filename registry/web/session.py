"""Flask-Login's view of a signed-in user."""

from __future__ import annotations

from flask_login import UserMixin

from registry.auth import Actor
from registry.db import Database
from registry.models import User


class SessionUser(UserMixin):
    def __init__(self, user: User) -> None:
        self.id = str(user.id)
        self.actor = Actor.from_user(user)
        self.name = user.name
        self.role = user.role


def load_session_user(database: Database, user_id: str) -> SessionUser | None:
    if not user_id.isdigit():
        return None
    with database.unit_of_work() as session:
        user = session.get(User, int(user_id))
        return SessionUser(user) if user is not None and user.is_active else None
