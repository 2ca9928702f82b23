"""The API keys page, /account/api-keys/: list, create with a role checklist (the new key shown
once), revoke."""

import re

import pytest

from tests.factories import OrganizationFactory, UserFactory, WorkerFactory
from tests.workforce.test_security_mfa import finance_user, totp_activate, vendor_manager
from workforce.models import ApiKey, User
from workforce.services import accounts as services

pytestmark = pytest.mark.django_db

PAGE = "/account/api-keys/"


def requester_and_worker() -> User:
    user = OrganizationFactory().memberships.get().user
    services.worker_register(user=user, display_name="Both", accept_terms=True)
    return user


def checkboxes(html: str) -> list[tuple[str, bool]]:
    """The role checklist: (value, checked) in page order."""
    return [
        (value, bool(checked))
        for value, checked in re.findall(
            r'<input type="checkbox" name="roles" value="([a-z_]+)"[^>]*?( checked)?>', html
        )
    ]


def keys_state() -> list[tuple]:
    return list(ApiKey.objects.order_by("pk").values_list("user", "name", "roles", "revoked_at"))


def test_the_page_needs_a_signed_in_user(client):
    response = client.get(PAGE)

    assert (response.status_code, response.url) == (302, f"/accounts/login/?next={PAGE}")


def test_the_page_offers_the_users_roles_all_checked(client):
    client.force_login(requester_and_worker())

    response = client.get(PAGE)

    assert response.status_code == 200
    html = response.content.decode()
    assert "marketplace/app.css" in html
    assert checkboxes(html) == [("requester", True), ("worker", True)]
    assert "No API keys yet" in html
    # The navigation marks the page
    assert '<a class="nav-link" href="/account/api-keys/" aria-current="page">API keys</a>' in html


def test_creating_a_key_shows_it_once(client):
    # Given a requester-and-worker on the page
    user = requester_and_worker()
    client.force_login(user)

    # When they create a worker-only key
    response = client.post(PAGE, {"name": "labeling script", "roles": ["worker"]})

    # Then the page shows the plain key once, with a copy hint, and lists the key
    assert response.status_code == 200
    html = response.content.decode()
    key = ApiKey.objects.get()
    assert (key.user, key.name, key.roles) == (user, "labeling script", ["worker"])
    raw_key = re.search(r'<input type="text" id="new-key" value="(gw_[^"]+)"', html).group(1)
    assert services.api_key_authenticate(raw_key=raw_key) == key
    assert "it is shown only once" in html
    assert 'id="copy-key"' in html
    assert f"gw_{key.prefix}_…" in html
    # And the form is blank again, every role checked
    assert checkboxes(html) == [("requester", True), ("worker", True)]

    # And the next visit lists the key without the secret
    again = client.get(PAGE).content.decode()
    assert raw_key not in again
    assert raw_key.split("_", 2)[2] not in again
    assert f"gw_{key.prefix}_…" in again
    assert "labeling script" in again


@pytest.mark.parametrize(
    ("data", "error"),
    [
        ({"name": "", "roles": ["worker"]}, "This field is required."),
        ({"name": "x"}, "Choose at least one role for the key."),
        ({"name": "x", "roles": ["finance"]}, "Select a valid choice. finance is not one of"),
    ],
)
def test_invalid_forms_create_nothing(client, data, error):
    client.force_login(WorkerFactory().user)

    response = client.post(PAGE, data)

    assert response.status_code == 400
    assert error in response.content.decode()
    assert ApiKey.objects.count() == 0


def test_a_user_without_roles_is_told_so(client):
    client.force_login(UserFactory())

    html = client.get(PAGE).content.decode()
    refused = client.post(PAGE, {"name": "x", "roles": ["worker"]})

    assert "You hold no roles yet" in html
    assert checkboxes(html) == []
    assert refused.status_code == 400
    assert ApiKey.objects.count() == 0


@pytest.mark.parametrize("make_user", [finance_user, vendor_manager], ids=["finance", "vendor"])
def test_mfa_roles_create_keys_once_they_have_an_authenticator(client, make_user):
    user = make_user()
    totp_activate(user)
    client.force_login(user)
    role = "finance" if user.is_finance else "vendor_manager"

    html = client.get(PAGE).content.decode()
    response = client.post(PAGE, {"name": "ops", "roles": [role]})

    assert checkboxes(html) == [(role, True)]
    assert "need two-factor authentication" not in html
    assert response.status_code == 200
    assert list(ApiKey.objects.values_list("user", "roles")) == [(user.pk, [role])]


def test_revoke_from_the_page(client):
    worker = WorkerFactory()
    key, _ = services.api_key_create(user=worker.user, name="old laptop")
    client.force_login(worker.user)

    response = client.post(f"/account/api-keys/{key.pk}/revoke", follow=True)

    assert response.redirect_chain == [(PAGE, 302)]
    html = response.content.decode()
    assert f"The key “old laptop” ({key.prefix}…) was revoked." in html
    key.refresh_from_db()
    assert key.revoked_at is not None
    assert "Revoked " in html
    assert f'action="/account/api-keys/{key.pk}/revoke"' not in html


def test_revoking_another_users_key_from_the_page_is_not_found(client):
    theirs, _ = services.api_key_create(user=WorkerFactory().user, name="theirs")
    client.force_login(WorkerFactory().user)
    before = keys_state()

    response = client.post(f"/account/api-keys/{theirs.pk}/revoke")

    assert response.status_code == 404
    assert keys_state() == before


def test_revoke_is_post_only(client):
    worker = WorkerFactory()
    key, _ = services.api_key_create(user=worker.user, name="k")
    client.force_login(worker.user)

    response = client.get(f"/account/api-keys/{key.pk}/revoke")

    assert response.status_code == 405
    key.refresh_from_db()
    assert key.revoked_at is None
