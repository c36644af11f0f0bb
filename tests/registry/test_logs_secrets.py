"""No secret in logs (#11): a sign-in, a token creation and API calls with the token, logged at
DEBUG through the production JSON formatter, never show the password, the token's secret or the
session cookie."""

from __future__ import annotations

import html
import logging
import re

import pytest

from registry.logs import _JsonFormatter
from registry.models import Role
from tests import factories


class _Kept(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def debug_logs(connection):
    """Every record at DEBUG; set up before the test's database connection opens, so that
    SQLAlchemy logs its statements and their parameters too."""
    root, kept = logging.getLogger(), _Kept()
    # Alembic's logging config (the session's migrations) disabled the loggers that existed and
    # set levels; open them all up for the test, and put them back afterwards.
    loggers = [root, *(lg for lg in root.manager.loggerDict.values()
                       if isinstance(lg, logging.Logger))]
    saved = [(lg, lg.disabled, lg.level) for lg in loggers]
    for logger in loggers:
        logger.disabled = False
        logger.setLevel(logging.DEBUG)
    root.addHandler(kept)
    # The test's connection opened before this fixture; SQLAlchemy decides once per connection
    # whether to log statements, so tell it again.
    connection._echo = connection.engine._should_log_info()
    yield kept
    root.removeHandler(kept)
    for logger, disabled, level in saved:
        logger.disabled, logger.level = disabled, level


def test_sign_in_token_and_api_calls_leave_no_secret_in_logs(debug_logs, client):
    caplog = debug_logs
    user = factories.UserFactory(role=Role.manufacturer)
    factories.DeviceFactory(manufacturer_id=user.organisation_id)

    signed_in = client.post("/login", data={"email": user.email,
                                            "password": factories.PASSWORD})
    assert signed_in.status_code == 302
    cookie = re.search(r"session=([^;]+)", signed_in.headers["Set-Cookie"]).group(1)
    page = client.post("/tokens", data={"name": "ci"})
    assert page.status_code == 201
    token = html.unescape(re.search(r'id="new-token"[^>]*value="([^"]+)"',
                                    page.get_data(as_text=True)).group(1))
    secret = token.rsplit("_", 1)[1]
    bearer = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/v1/me", headers=bearer).status_code == 200
    assert client.get("/api/v1/devices", headers=bearer).status_code == 200
    # A refused token and a refused password are logged too: still no secret.
    assert client.get("/api/v1/me", headers={
        "Authorization": f"Bearer {token[:-4]}abcd"}).status_code == 401
    client.post("/login", data={"email": user.email, "password": factories.PASSWORD + "!"})

    formatter = _JsonFormatter()
    logged = "\n".join(formatter.format(record) for record in caplog.records)
    # The logs do hold the requests' data (statements with their parameters): the check is real.
    assert "SELECT" in logged and user.email in logged
    for name, value in (("password", factories.PASSWORD), ("token", token),
                        ("token secret", secret), ("session cookie", cookie),
                        ("token secret prefix", secret[:12])):
        assert value not in logged, f"the {name} appears in the logs"
