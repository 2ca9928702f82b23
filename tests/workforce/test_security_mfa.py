"""Two-factor authentication (allauth.mfa, TOTP + recovery codes) for finance staff and vendor
managers: every page sends them to the authenticator set-up until they have one, sign-in then
asks for a code, and the MFA pages wear the product's look."""

import re

import pytest
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal import auth as totp
from django.contrib.messages import get_messages
from django.urls import reverse

from tests.factories import OrganizationFactory, UserFactory, WorkerFactory
from workforce.middleware import MFA_SETUP_MESSAGE
from workforce.models import User, Vendor, VendorManager

pytestmark = pytest.mark.django_db

PASSWORD = "correct-horse-battery-staple"  # UserFactory's password  # noqa: S105
ACTIVATE = "/accounts/2fa/totp/activate/"
ROLE_NOTICE = (
    "Finance staff and vendor managers must use two-factor authentication. Set it up to continue."
)


# --- helpers shared by the security tests ---------------------------------------------------------


def finance_user(**kwargs) -> User:
    # There is no service that grants the finance role; staff set the flag in the admin.
    user = UserFactory(**kwargs)
    user.is_finance = True
    user.save(update_fields=["is_finance"])
    return user


def vendor_manager(**kwargs) -> User:
    # There is no vendor service yet; a vendor and its manager are rows an admin creates.
    user = UserFactory(**kwargs)
    vendor = Vendor.objects.create(name="Labelers Ltd", slug=f"labelers-{user.pk}")
    VendorManager.objects.create(vendor=vendor, user=user)
    return user


def totp_activate(user: User) -> str:
    """Give the user an authenticator app, as allauth's activation does; returns its secret."""
    secret = totp.generate_totp_secret()
    totp.TOTP.activate(user, secret)
    return secret


def totp_code(secret: str) -> str:
    """The code the authenticator app shows now."""
    counter = next(iter(totp.yield_hotp_counters_from_time()))
    return totp.format_hotp_value(totp.hotp_value(secret, counter))


def sign_in(client, user: User):
    return client.post(reverse("account_login"), {"login": user.email, "password": PASSWORD})


def sign_in_recently(client, user: User) -> None:
    """Sign in and confirm the password again: allauth asks for that before changing
    authenticators (MFA_REAUTHENTICATION_REQUIRED is on by default)."""
    assert sign_in(client, user).status_code == 302
    assert client.post("/accounts/reauthenticate/", {"password": PASSWORD}).status_code == 302


# --- the middleware -------------------------------------------------------------------------------

PAGES = ["/", "/work/", "/work/profile/", "/account/api-keys/", "/work/join", "/admin/"]


@pytest.mark.parametrize("make_user", [finance_user, vendor_manager], ids=["finance", "vendor"])
@pytest.mark.parametrize("path", PAGES)
def test_mfa_roles_without_an_authenticator_are_sent_to_set_one_up(client, make_user, path):
    # Given a finance user or vendor manager without an authenticator app
    user = make_user()
    client.force_login(user)

    # When they open any page
    response = client.get(path)

    # Then they are sent to allauth's authenticator activation, with a message saying why
    assert response.status_code == 302
    assert response.url == reverse("mfa_activate_totp") == ACTIVATE
    assert [m.message for m in get_messages(response.wsgi_request)] == [MFA_SETUP_MESSAGE]
    assert not Authenticator.objects.filter(user=user).exists()


def test_a_post_is_redirected_too_and_changes_nothing(client):
    user = vendor_manager()
    client.force_login(user)

    response = client.post("/account/api-keys/", {"name": "sneaky", "roles": ["vendor_manager"]})

    assert (response.status_code, response.url) == (302, ACTIVATE)
    assert user.api_keys.count() == 0


@pytest.mark.parametrize(
    ("path", "status"),
    [
        (ACTIVATE, 200),  # the set-up page itself
        ("/accounts/2fa/", 200),  # the MFA index
        ("/accounts/email/", 200),
        ("/accounts/password/change/", 200),
        ("/accounts/logout/", 200),  # allauth asks to confirm signing out
        ("/static/marketplace/app.css", 200),
        ("/_allauth/app/v1/config", 200),
        ("/_allauth/browser/v1/auth/session", 200),
        ("/api/v1/api-keys", 200),
    ],
)
def test_account_mfa_logout_static_headless_and_api_paths_stay_reachable(client, path, status):
    # (allauth asks for the password again before the MFA set-up)
    sign_in_recently(client, finance_user())

    response = client.get(path)

    assert response.status_code == status


def test_the_health_check_is_not_redirected(client):
    client.force_login(finance_user())

    response = client.get("/healthz")

    # 200 or 503 depending on the broker in this environment; never the MFA redirect
    assert response.status_code in (200, 503)
    assert response["Content-Type"] == "application/json"


def test_signing_out_works_without_an_authenticator(client):
    client.force_login(vendor_manager())

    response = client.post("/accounts/logout/")

    assert (response.status_code, response.url) == (302, "/")
    assert client.get("/").status_code == 200
    assert not client.get("/").wsgi_request.user.is_authenticated


def test_the_api_answers_mfa_required_instead_of_redirecting(client):
    # The API's own permissions refuse finance endpoints without MFA; the middleware keeps out
    client.force_login(finance_user())

    response = client.post("/api/v1/api-keys", {"name": "x"}, content_type="application/json")

    assert response.status_code == 403
    assert response.json()["code"] == "mfa_required"


@pytest.mark.parametrize(
    "make_user",
    [
        UserFactory,
        lambda: WorkerFactory().user,
        lambda: OrganizationFactory().memberships.get().user,
    ],
    ids=["no role", "worker", "requester"],
)
def test_other_users_are_not_redirected(client, make_user):
    client.force_login(make_user())

    assert client.get("/").status_code == 200
    assert client.get("/account/api-keys/").status_code == 200


@pytest.mark.parametrize("make_user", [finance_user, vendor_manager], ids=["finance", "vendor"])
def test_mfa_roles_with_an_authenticator_are_not_redirected(client, make_user):
    user = make_user()
    totp_activate(user)
    client.force_login(user)

    assert client.get("/").status_code == 200
    assert client.get("/account/api-keys/").status_code == 200


def test_anonymous_visitors_are_not_redirected(client):
    assert client.get("/").status_code == 200
    assert client.get("/work/").url == "/accounts/login/?next=/work/"


# --- setting up the authenticator, then signing in with a code ------------------------------------


def test_finance_signs_in_sets_up_an_authenticator_and_then_reaches_the_site(client):
    # Given a finance user without an authenticator app
    user = finance_user()

    # When they sign in, they are sent on to the activation page, with the reason shown, and
    # allauth first asks them to confirm their password (it does so before any MFA change)
    signed_in = sign_in(client, user)
    assert (signed_in.status_code, signed_in.url) == (302, "/")
    confirm = client.get("/", follow=True)
    assert confirm.redirect_chain == [
        (ACTIVATE, 302),
        ("/accounts/reauthenticate/?next=%2Faccounts%2F2fa%2Ftotp%2Factivate%2F", 302),
    ]
    assert MFA_SETUP_MESSAGE in confirm.content.decode()
    confirmed = client.post(
        "/accounts/reauthenticate/?next=%2Faccounts%2F2fa%2Ftotp%2Factivate%2F",
        {"password": PASSWORD, "next": ACTIVATE},
    )
    assert (confirmed.status_code, confirmed.url) == (302, ACTIVATE)
    page = client.get(ACTIVATE)
    assert page.status_code == 200
    html = page.content.decode()
    # (the message was shown on the password page; this page says why on its own)
    assert ROLE_NOTICE in html
    assert 'src="data:image/svg+xml;base64,' in html  # the QR code
    secret = page.context["form"].secret
    assert secret in html  # the secret, for apps that cannot scan

    # When they enter a wrong code, nothing is activated
    wrong = client.post(ACTIVATE, {"code": "000000" if totp_code(secret) != "000000" else "111111"})
    assert wrong.status_code == 200
    assert wrong.context["form"].errors == {"code": ["Incorrect code."]}
    assert not Authenticator.objects.filter(user=user).exists()

    # When they enter the code their app shows
    activated = client.post(ACTIVATE, {"code": totp_code(secret)})

    # Then TOTP and recovery codes are set up and the recovery codes are shown
    assert (activated.status_code, activated.url) == (302, "/accounts/2fa/recovery-codes/")
    assert sorted(Authenticator.objects.filter(user=user).values_list("type", flat=True)) == [
        Authenticator.Type.RECOVERY_CODES,
        Authenticator.Type.TOTP,
    ]
    codes = client.get("/accounts/2fa/recovery-codes/")
    assert codes.status_code == 200
    assert len(codes.context["unused_codes"]) == 10
    # And the site is open to them
    assert client.get("/").status_code == 200


def test_sign_in_asks_for_the_authenticator_code(client):
    # Given a vendor manager with an authenticator app
    user = vendor_manager()
    secret = totp_activate(user)

    # When they sign in with the right password, allauth asks for a code before signing in
    asked = sign_in(client, user)
    assert (asked.status_code, asked.url) == (302, "/accounts/2fa/authenticate/")
    assert not client.get("/").wsgi_request.user.is_authenticated
    form = client.get("/accounts/2fa/authenticate/")
    assert form.status_code == 200
    assert b"marketplace/app.css" in form.content
    assert b'name="code"' in form.content

    # A wrong code does not sign them in
    wrong_code = "000000" if totp_code(secret) != "000000" else "111111"
    refused = client.post("/accounts/2fa/authenticate/", {"code": wrong_code})
    assert refused.status_code == 200
    assert refused.context["form"].errors == {"code": ["Incorrect code."]}
    assert not client.get("/").wsgi_request.user.is_authenticated

    # The code from the app does
    accepted = client.post("/accounts/2fa/authenticate/", {"code": totp_code(secret)})
    assert (accepted.status_code, accepted.url) == (302, "/")
    home = client.get("/")
    assert home.status_code == 200
    assert home.wsgi_request.user == user


# --- the MFA pages in the product's look ---------------------------------------------------------


def assert_product_page(response, heading: str) -> str:
    assert response.status_code == 200
    html = response.content.decode()
    assert "marketplace/app.css" in html
    assert 'class="topbar"' in html
    assert re.search(rf"<h1[^>]*>\s*{re.escape(heading)}\s*</h1>", html), heading
    return html


def test_mfa_index_without_an_authenticator(client):
    client.force_login(WorkerFactory().user)

    html = assert_product_page(client.get("/accounts/2fa/"), "Two-factor authentication")

    assert "Authenticator app" in html
    assert f'href="{ACTIVATE}"' in html
    assert "Not set up" in html
    # The side navigation of the account pages marks this page as the current one
    assert re.search(r'href="/accounts/2fa/"\s+aria-current="page"', html)


def test_mfa_index_with_an_authenticator_and_recovery_codes(client):
    user = vendor_manager()
    sign_in_recently(client, user)
    totp_activate(user)
    generated = client.post("/accounts/2fa/recovery-codes/generate/")
    assert generated.url == "/accounts/2fa/recovery-codes/"

    html = assert_product_page(client.get("/accounts/2fa/"), "Two-factor authentication")

    assert "Active" in html
    assert 'href="/accounts/2fa/totp/deactivate/"' in html
    assert "10 of 10 recovery codes unused" in html
    assert 'href="/accounts/2fa/recovery-codes/"' in html


def test_totp_activation_page(client):
    sign_in_recently(client, WorkerFactory().user)

    html = assert_product_page(client.get(ACTIVATE), "Set up an authenticator app")

    assert re.search(r'<img[^>]+class="qr-code"[^>]+src="data:image/svg\+xml;base64,', html)
    assert 'name="code"' in html
    assert 'id="authenticator_secret"' in html
    assert ROLE_NOTICE not in html  # a worker may use MFA but need not


def test_totp_deactivation_and_recovery_code_pages(client):
    user = WorkerFactory().user
    sign_in_recently(client, user)
    totp_activate(user)
    assert client.post("/accounts/2fa/recovery-codes/generate/").status_code == 302

    assert_product_page(
        client.get("/accounts/2fa/totp/deactivate/"), "Turn off the authenticator app"
    )
    html = assert_product_page(client.get("/accounts/2fa/recovery-codes/"), "Recovery codes")
    codes = re.findall(r'<li class="recovery-code"><code>([^<]+)</code></li>', html)
    assert len(codes) == 10
    assert_product_page(
        client.get("/accounts/2fa/recovery-codes/generate/"), "Generate new recovery codes"
    )


def test_mfa_authenticate_page_uses_the_entrance_card(client):
    user = finance_user()
    totp_activate(user)
    sign_in(client, user)

    html = assert_product_page(
        client.get("/accounts/2fa/authenticate/"), "Two-factor authentication"
    )

    assert "auth-card" in html
    assert 'autocomplete="one-time-code"' in html


def test_the_security_link_in_the_navigation_leads_to_the_mfa_index(client):
    client.force_login(WorkerFactory().user)

    html = client.get("/").content.decode()

    assert '<a class="nav-link" href="/accounts/2fa/">Security</a>' in html
