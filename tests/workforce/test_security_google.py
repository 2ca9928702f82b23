"""Google sign-in appears on the sign-in and sign-up pages only when its keys are configured
(settings.SOCIALACCOUNT_PROVIDERS["google"]["APPS"], filled from GOOGLE_CLIENT_ID/SECRET)."""

import re
from urllib.parse import parse_qs, urlsplit

import pytest

pytestmark = pytest.mark.django_db

GOOGLE_LINK = re.compile(
    r'<a class="button secondary block" title="Google" href="(?P<href>[^"]+)">Google</a>'
)


@pytest.fixture
def google_configured(settings):
    settings.SOCIALACCOUNT_PROVIDERS = {
        "google": {
            **settings.SOCIALACCOUNT_PROVIDERS["google"],
            "APPS": [{"client_id": "test-client-id.apps.googleusercontent.com", "secret": "s"}],
        }
    }


def test_without_keys_there_is_no_google_button(client, settings):
    assert settings.SOCIALACCOUNT_PROVIDERS["google"]["APPS"] == []

    for path in ("/accounts/login/", "/accounts/signup/"):
        html = client.get(path).content.decode()
        assert "Google" not in html, path
        assert "/accounts/google/login/" not in html, path
        assert "provider-list" not in html, path


@pytest.mark.parametrize("path", ["/accounts/login/", "/accounts/signup/"])
def test_with_keys_the_page_links_to_allauths_google_login(client, google_configured, path):
    response = client.get(path)

    assert response.status_code == 200
    html = response.content.decode()
    # The provider list element of the product's look, with one Google button
    assert '<ul class="provider-list">' in html
    links = GOOGLE_LINK.findall(html)
    assert len(links) == 1
    href = links[0].replace("&amp;", "&")
    assert urlsplit(href).path == "/accounts/google/login/"
    assert parse_qs(urlsplit(href).query) == {"process": ["login"]}
    assert "Or use a third-party" in html


def test_the_google_link_starts_the_oauth_flow(client, google_configured):
    # allauth asks for a POST (a GET shows a confirmation page) and then redirects to Google
    confirm = client.get("/accounts/google/login/?process=login")
    assert confirm.status_code == 200
    assert b"marketplace/app.css" in confirm.content

    started = client.post("/accounts/google/login/?process=login")

    assert started.status_code == 302
    target = urlsplit(started.url)
    assert (target.scheme, target.netloc, target.path) == (
        "https",
        "accounts.google.com",
        "/o/oauth2/v2/auth",
    )
    query = parse_qs(target.query)
    assert query["client_id"] == ["test-client-id.apps.googleusercontent.com"]
    assert query["redirect_uri"] == ["http://testserver/accounts/google/login/callback/"]
    assert sorted(query["scope"][0].split()) == ["email", "profile"]  # in no fixed order
    assert query["response_type"] == ["code"]
