import pytest

from app.kit.config import ConfigError, load_settings


def test_defaults_match_the_contract(monkeypatch):
    for var in ("DATABASE_URL", "SMS_PROVIDER", "TWILIO_AUTH_TOKEN", "TWILIO_ACCOUNT_SID",
                "PUBLIC_URL", "SILENCE_MINUTES", "TWILIO_API_BASE"):
        monkeypatch.delenv(f"TEXTLINE_{var}", raising=False)
    s = load_settings(_env_file=None)
    assert s.database_url == "sqlite:///./textline.db"
    assert s.public_url == "http://127.0.0.1:8000"
    assert s.provider == "console"
    assert s.twilio_api_base == "https://api.twilio.com"
    assert s.silence_minutes == 10
    assert not s.signatures_required


def test_twilio_becomes_the_provider_when_credentials_are_set():
    s = load_settings(_env_file=None, twilio_account_sid="AC1", twilio_auth_token="a-real-token-value",
                      twilio_from="61016")
    assert s.provider == "twilio" and s.signatures_required
    assert "a-real-token-value" not in repr(s)


def test_twilio_without_auth_token_refuses_to_start():
    with pytest.raises(ConfigError, match="TWILIO_AUTH_TOKEN"):
        load_settings(_env_file=None, sms_provider="twilio", twilio_account_sid="AC1",
                      twilio_from="61016")


def test_placeholder_secret_refused():
    with pytest.raises(ConfigError, match="placeholder"):
        load_settings(_env_file=None, secret_key="changeme")


def test_bad_value_is_one_readable_line(monkeypatch):
    monkeypatch.setenv("TEXTLINE_SILENCE_MINUTES", "soon")
    with pytest.raises(ConfigError) as err:
        load_settings(_env_file=None)
    message = str(err.value)
    assert "\n" not in message
    assert "TEXTLINE_SILENCE_MINUTES" in message


def test_public_url_must_be_http():
    with pytest.raises(ConfigError, match="TEXTLINE_PUBLIC_URL"):
        load_settings(_env_file=None, public_url="ftp://x")
