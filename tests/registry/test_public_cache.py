"""registry/web/public_cache.py: anonymous catalogue pages served for a few seconds from one
rendering; signed-in users, flashes, errors and other URLs never get a cached page."""

from __future__ import annotations

import pytest

from registry import db, storage
from registry.models import Role
from registry.web import public_cache
from tests import factories


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def cached_app(settings, connection, tmp_path, clock):
    from registry.app import create_app

    app = create_app(settings.model_copy(update={"public_cache_seconds": 30}))
    db.set_database(db.Database(str(connection.engine.url), bind=connection))
    storage.set_store(storage.ArtifactStore(tmp_path / "artifacts", settings.max_upload_bytes))
    app.config["WTF_CSRF_ENABLED"] = False
    app.extensions["public_page_cache"] = public_cache.PublicPageCache(30, timer=clock)
    return app


@pytest.fixture
def published(session):
    factories.bind(session)
    maker = factories.OrganisationFactory(name="Cache Test SAS")
    factories.DeviceFactory(code="CACHE-1", name="Aubade First", manufacturer_id=maker.id,
                            is_published=True)
    session.flush()
    return maker


def _publish(session, maker, code, name):
    factories.DeviceFactory(code=code, name=name, manufacturer_id=maker.id, is_published=True)
    session.flush()


def test_anonymous_visitors_share_one_rendering_until_it_expires(cached_app, session,
                                                                 published, clock):
    visitor = cached_app.test_client()
    first = visitor.get("/catalogue")
    assert first.status_code == 200 and "Aubade First" in first.text
    assert first.headers["Cache-Control"] == "public, max-age=30"
    assert "Cookie" in first.headers["Vary"]
    _publish(session, published, "CACHE-2", "Aubade Second")
    other_visitor = cached_app.test_client()
    assert "Aubade Second" not in other_visitor.get("/catalogue").text  # the same rendering
    clock.now += 31
    assert "Aubade Second" in other_visitor.get("/catalogue").text


def test_each_url_is_its_own_page(cached_app, session, published):
    visitor = cached_app.test_client()
    assert "Aubade First" in visitor.get("/catalogue").text
    _publish(session, published, "CACHE-2", "Aubade Second")
    assert "Aubade Second" in visitor.get("/catalogue?offset=0").text
    assert "Aubade Second" in visitor.get("/catalogue/CACHE-2").text


def test_signed_in_users_always_get_a_fresh_page(cached_app, session, published):
    assert "Aubade First" in cached_app.test_client().get("/catalogue").text
    _publish(session, published, "CACHE-2", "Aubade Second")
    user = factories.UserFactory(role=Role.reviewer)
    session.flush()
    member = cached_app.test_client()
    member.post("/login", data={"email": user.email, "password": factories.PASSWORD})
    page = member.get("/catalogue")
    assert "Aubade Second" in page.text and user.name in page.text
    assert "public" not in page.headers.get("Cache-Control", "")


def test_errors_are_not_cached(cached_app, session, published):
    visitor = cached_app.test_client()
    assert visitor.get("/catalogue/CACHE-2").status_code == 404
    _publish(session, published, "CACHE-2", "Aubade Second")
    assert visitor.get("/catalogue/CACHE-2").status_code == 200
    refused = visitor.get("/catalogue?theme=NOPE")
    assert refused.status_code == 422
    assert "public" not in refused.headers.get("Cache-Control", "")


def test_a_page_with_a_flashed_message_is_not_served_from_the_cache(cached_app, session,
                                                                    published):
    visitor = cached_app.test_client()
    assert "Aubade First" in visitor.get("/catalogue").text
    _publish(session, published, "CACHE-2", "Aubade Second")
    with visitor.session_transaction() as cookie_session:
        cookie_session["_flashes"] = [("message", "You are signed out.")]
    page = visitor.get("/catalogue")
    assert "You are signed out." in page.text and "Aubade Second" in page.text


def test_zero_seconds_turns_the_cache_off(app, client, session, published):
    assert "Aubade First" in client.get("/catalogue").text
    _publish(session, published, "CACHE-2", "Aubade Second")
    page = client.get("/catalogue")
    assert "Aubade Second" in page.text
    assert "public" not in page.headers.get("Cache-Control", "")
