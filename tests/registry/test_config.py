import pytest

from registry.config import load_settings
from registry.errors import ConfigError


def test_wrong_setting_names_the_variable(monkeypatch, tmp_path):
    monkeypatch.setenv("DMD_DATABASE_URL", "mysql://nope")
    with pytest.raises(ConfigError, match="DMD_DATABASE_URL='mysql://nope': .*sqlite"):
        load_settings(instance_dir=tmp_path)


def test_bad_number_names_the_variable(monkeypatch, tmp_path):
    monkeypatch.setenv("DMD_MAX_UPLOAD_BYTES", "lots")
    with pytest.raises(ConfigError, match="DMD_MAX_UPLOAD_BYTES='lots'"):
        load_settings(instance_dir=tmp_path)


def test_production_requires_a_secret(monkeypatch, tmp_path):
    monkeypatch.delenv("DMD_SECRET_KEY", raising=False)
    with pytest.raises(ConfigError, match="DMD_SECRET_KEY is required"):
        load_settings(instance_dir=tmp_path, env="prod")


def test_demo_secret_is_generated_once_and_kept(tmp_path):
    first = load_settings(instance_dir=tmp_path).secret_key
    assert first and load_settings(instance_dir=tmp_path).secret_key == first


def test_defaults_are_the_embedded_mode(tmp_path):
    settings = load_settings(instance_dir=tmp_path)
    assert settings.resolved_database_url == f"sqlite:///{tmp_path / 'registry.db'}"
    assert settings.broker_url is None
