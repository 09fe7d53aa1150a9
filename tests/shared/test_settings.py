import subprocess
import sys

import pytest

from shared.settings import ApiSettings, NotifierSettings, SettingsError, load_settings

URLS = {"database_url": "postgresql://u@h/db", "redis_url": "redis://h:6379/0"}


def test_missing_variables_are_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DUBAN_DATABASE_URL", raising=False)
    monkeypatch.delenv("DUBAN_REDIS_URL", raising=False)
    with pytest.raises(SettingsError) as err:
        load_settings(ApiSettings)
    assert "DUBAN_DATABASE_URL: missing" in str(err.value)
    assert "DUBAN_REDIS_URL: missing" in str(err.value)


def test_malformed_variable_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DUBAN_DATABASE_URL", "postgresql://u@h/db")
    monkeypatch.setenv("DUBAN_REDIS_URL", "redis://h:6379/0")
    monkeypatch.setenv("DUBAN_PORT", "eighty")
    with pytest.raises(SettingsError, match="DUBAN_PORT"):
        load_settings(ApiSettings)


def test_production_refuses_the_development_secret() -> None:
    with pytest.raises(SettingsError, match="DUBAN_SECRET_KEY"):
        load_settings(ApiSettings, environment="production", **URLS)
    with pytest.raises(SettingsError, match="at least 32 characters"):
        load_settings(ApiSettings, environment="production", secret_key="short", **URLS)
    settings = load_settings(ApiSettings, environment="production", secret_key="s" * 40, **URLS)
    assert settings.secret_key.get_secret_value() == "s" * 40


def test_each_worker_has_its_own_queue() -> None:
    settings = load_settings(NotifierSettings, queue_prefix="x", **URLS)
    assert settings.notifier_queue != settings.ranker_queue
    assert settings.notifier_queue.startswith("x:")


def test_reconcile_interval_must_fit_the_clock() -> None:
    with pytest.raises(SettingsError, match="DUBAN_RECONCILE_INTERVAL_SECONDS"):
        load_settings(NotifierSettings, reconcile_interval_seconds=7, **URLS)
    assert load_settings(NotifierSettings, reconcile_interval_seconds=300, **URLS)


def test_cli_stops_with_a_message_naming_the_variable() -> None:
    env = {"PATH": "/usr/bin:/bin", "DUBAN_REDIS_URL": "redis://127.0.0.1:6379/0"}
    done = subprocess.run(
        [sys.executable, "-m", "services.cli.main", "serve", "notifier"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "DUBAN_DATABASE_URL: missing" in done.stderr


def test_sentinels_must_be_host_and_port() -> None:
    with pytest.raises(SettingsError, match=r"DUBAN_REDIS_SENTINELS.*'10\.0\.0\.2' is not host:port"):
        load_settings(ApiSettings, redis_sentinels="10.0.0.1:26379,10.0.0.2", **URLS)


def test_with_sentinels_the_primary_is_found_through_them_in_the_urls_database() -> None:
    settings = load_settings(
        ApiSettings, redis_sentinels=" s1:26379, s2:26380 ", redis_sentinel_master="duban", **URLS
    )
    redis = settings.redis()
    assert (redis.sentinel, redis.host, redis.sentinel_master) == (
        True,
        [("s1", 26379), ("s2", 26380)],
        "duban",
    )
    assert redis.database == 0
    direct = load_settings(ApiSettings, **URLS).redis()
    assert (direct.sentinel, direct.host, direct.port) == (False, "h", 6379)


def test_the_email_channel_needs_a_server_and_a_sender() -> None:
    with pytest.raises(SettingsError, match="DUBAN_SMTP_HOST and DUBAN_SMTP_FROM"):
        load_settings(NotifierSettings, notice_channels="log,email", **URLS)
    with pytest.raises(SettingsError, match="'fax' is not a channel"):
        load_settings(NotifierSettings, notice_channels="log,fax", **URLS)
    fine = load_settings(
        NotifierSettings, notice_channels="log, email", smtp_host="mail", smtp_from="d@example.cn", **URLS
    )
    assert fine.notice_channels == "log,email"


def test_the_sms_channel_names_what_it_still_needs() -> None:
    with pytest.raises(SettingsError) as err:
        load_settings(NotifierSettings, notice_channels="sms", sms_provider="tencent", **URLS)
    said = str(err.value)
    for name in (
        "DUBAN_SMS_ACCESS_KEY_ID",
        "DUBAN_SMS_SIGN_NAME",
        "DUBAN_SMS_APP_ID",
        "DUBAN_SMS_ACCESS_KEY_SECRET",
    ):
        assert name in said
    assert 'DUBAN_SMS_TEMPLATES (with a "default")' in said
    fine = load_settings(
        NotifierSettings, notice_channels="log,sms", sms_provider="aliyun", sms_access_key_id="ak",
        sms_access_key_secret="sk", sms_sign_name="督查局", sms_templates={"default": "SMS_1"}, **URLS,
    )  # fmt: skip
    assert fine.sms_daily_cap == 10 and "sk" not in repr(fine)
