"""Settings: flags over env over defaults, clear errors, secrets never from flag values."""

from pathlib import Path

import pytest

from labmcp.config import load
from labmcp.errors import ConfigError

BASE_ENV = {"LABARCHIVES_AKID": "ak", "LABARCHIVES_SECRET": "pw-123456", "LABARCHIVES_UID": "u1"}


def test_defaults() -> None:
    s = load([], BASE_ENV)
    assert s.labarchives.api_base == "https://api.labarchives.com/api"
    assert s.labarchives.request_interval == 1.0
    assert s.transport == "stdio"
    assert s.http.health_port is None
    assert s.labarchives.secret.reveal() == "pw-123456"
    assert "pw-123456" not in repr(s)


def test_flag_wins_over_env() -> None:
    s = load(["--region", "eu", "--request-interval", "0"], {**BASE_ENV, "LABARCHIVES_REGION": "uk"})
    assert s.labarchives.api_base == "https://euapi.labarchives.com/api"
    assert s.labarchives.request_interval == 0.0


def test_custom_base_wins_over_region() -> None:
    s = load([], {**BASE_ENV, "LABARCHIVES_REGION": "au", "LABARCHIVES_API_BASE": "http://127.0.0.1:9/api/"})
    assert s.labarchives.api_base == "http://127.0.0.1:9/api"


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"LABARCHIVES_SECRET": "x", "LABARCHIVES_UID": "u"}, "LABARCHIVES_AKID"),
        ({"LABARCHIVES_AKID": "a", "LABARCHIVES_UID": "u"}, "LABARCHIVES_SECRET"),
        ({"LABARCHIVES_AKID": "a", "LABARCHIVES_SECRET": "x"}, "LABARCHIVES_UID"),
        ({**BASE_ENV, "LABARCHIVES_REGION": "mars"}, "LABARCHIVES_REGION"),
        ({**BASE_ENV, "LABARCHIVES_API_BASE": "http://example.org/api"}, "loopback"),
        ({**BASE_ENV, "LABARCHIVES_REQUEST_INTERVAL": "-1"}, "LABARCHIVES_REQUEST_INTERVAL"),
        ({**BASE_ENV, "LABARCHIVES_REQUEST_INTERVAL": "nan"}, "LABARCHIVES_REQUEST_INTERVAL"),
        ({**BASE_ENV, "LABARCHIVES_LOG_LEVEL": "LOUD"}, "LABARCHIVES_LOG_LEVEL"),
        ({**BASE_ENV, "LABARCHIVES_FOLDER_PATH": "a/b"}, "LABARCHIVES_NOTEBOOK"),
        ({**BASE_ENV, "LABARCHIVES_NOTEBOOK_ID": "x", "LABARCHIVES_NOTEBOOK_NAME": "y"}, "not both"),
        ({**BASE_ENV, "LABMCP_TRANSPORT": "carrier-pigeon"}, "stdio or http"),
        ({**BASE_ENV, "LABMCP_TRANSPORT": "http", "LABMCP_HOST": "0.0.0.0"}, "LABMCP_HTTP_TOKEN"),
        ({**BASE_ENV, "LABARCHIVES_VERBOSE": "maybe"}, "LABARCHIVES_VERBOSE"),
    ],
)
def test_invalid_settings_name_the_setting(env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load([], env)


def test_unknown_flag_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="unrecognized"):
        load(["--secret", "hunter2"], BASE_ENV)


def test_secret_files(tmp_path: Path) -> None:
    secret = tmp_path / "secret"
    secret.write_text("from-file\n")
    token = tmp_path / "token"
    token.write_text("tok-abc")
    env = {"LABARCHIVES_AKID": "a", "LABARCHIVES_USER": "jane@example.org"}
    s = load(["--secret-file", str(secret), "--token-file", str(token)], env)
    assert s.labarchives.secret.reveal() == "from-file"
    assert s.labarchives.token is not None and s.labarchives.token.reveal() == "tok-abc"


def test_missing_secret_file_is_clear(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="--secret-file: cannot read"):
        load(["--secret-file", str(tmp_path / "nope")], BASE_ENV)


def test_http_mode_defaults_health_port_8000() -> None:
    s = load(["--transport", "http"], BASE_ENV)
    assert (s.http.host, s.http.port, s.http.health_port) == ("127.0.0.1", 8080, 8000)


def test_folder_path_is_normalised() -> None:
    s = load([], {**BASE_ENV, "LABARCHIVES_NOTEBOOK_NAME": "Lab", "LABARCHIVES_FOLDER_PATH": "/A / B/"})
    assert s.scope.folder_path == "A/B"


def test_demo_needs_no_credentials() -> None:
    s = load(["--demo"], {})
    assert s.demo


def test_bundle_placeholders_and_empty_values_count_as_unset() -> None:
    """An MCP Bundle host passes "" or the unfilled ``${user_config.x}`` for optional fields left empty."""
    env = {
        **BASE_ENV,
        "LABARCHIVES_NOTEBOOK_NAME": "${user_config.notebook_name}",
        "LABARCHIVES_FOLDER_PATH": "",
        "LABARCHIVES_REGION": "${user_config.region}",
    }
    s = load([], env)
    assert s.scope.notebook_name is None and s.scope.folder_path is None
    assert s.labarchives.api_base == "https://api.labarchives.com/api"
