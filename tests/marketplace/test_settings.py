"""Production settings refuse insecure defaults. Each case starts a fresh interpreter, because
settings are read once per process."""

import os
import subprocess
import sys

import pytest
from django.conf import settings

SETUP = "import django; django.setup()"
GOOD_KEY = "k" * 50
CONTROLLED = ("DJANGO_DEBUG", "DJANGO_SECRET_KEY", "ALLOWED_HOSTS")


def setup_django(**variables: str) -> subprocess.CompletedProcess:
    env = {name: value for name, value in os.environ.items() if name not in CONTROLLED}
    env.update(DJANGO_SETTINGS_MODULE="marketplace.settings", **variables)
    return subprocess.run(  # noqa: S603 - our own interpreter and a fixed script
        [sys.executable, "-c", SETUP],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_debug_off_without_a_secret_key_is_refused():
    # DJANGO_DEBUG unset means off
    result = setup_django()

    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert "DJANGO_SECRET_KEY" in result.stderr


@pytest.mark.parametrize("key", ["groundwork-insecure-development-key", "k" * 31])
def test_debug_off_with_the_development_or_a_short_key_is_refused(key):
    result = setup_django(DJANGO_SECRET_KEY=key)

    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY" in result.stderr


@pytest.mark.parametrize("key", [GOOD_KEY, "k" * 32])
def test_debug_off_with_a_long_secret_key_starts(key):
    result = setup_django(DJANGO_SECRET_KEY=key)

    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("hosts", ["*", "groundwork.example.com,*"])
def test_debug_off_with_a_wildcard_host_is_refused(hosts):
    result = setup_django(DJANGO_DEBUG="false", DJANGO_SECRET_KEY=GOOD_KEY, ALLOWED_HOSTS=hosts)

    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert "ALLOWED_HOSTS" in result.stderr


def test_debug_off_with_named_hosts_starts():
    result = setup_django(
        DJANGO_DEBUG="false", DJANGO_SECRET_KEY=GOOD_KEY, ALLOWED_HOSTS="groundwork.example.com"
    )

    assert result.returncode == 0, result.stderr


def test_debug_on_accepts_the_development_defaults():
    # `make run` works with nothing configured
    result = setup_django(DJANGO_DEBUG="true")

    assert result.returncode == 0, result.stderr
