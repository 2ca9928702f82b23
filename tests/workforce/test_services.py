"""Accounts and worker profiles."""

import pytest
from allauth.account.models import EmailAddress

from marketplace.errors import ApplicationError
from tests.concurrency import run_concurrently
from tests.factories import UserFactory
from workforce.models import User, Worker
from workforce.services import accounts as services


def accounts_state() -> tuple:
    return (
        sorted(User.objects.values_list("email", flat=True)),
        sorted(EmailAddress.objects.values_list("email", "verified", "primary")),
    )


@pytest.mark.django_db
def test_user_create_makes_a_user_and_their_allauth_email_address():
    user = services.user_create(email="ada@example.com", password="correct-horse-battery-staple")

    user.refresh_from_db()
    assert user.email == "ada@example.com"
    assert user.check_password("correct-horse-battery-staple")
    assert (user.is_active, user.is_staff, user.is_superuser) == (True, False, False)
    assert list(EmailAddress.objects.values_list("user", "email", "primary", "verified")) == [
        (user.pk, "ada@example.com", True, False)
    ]


@pytest.mark.django_db
def test_user_create_can_mark_the_email_verified():
    user = services.user_create(email="ada@example.com", password=None, email_verified=True)

    assert EmailAddress.objects.get(user=user).verified is True
    assert user.has_usable_password() is False


@pytest.mark.django_db
@pytest.mark.parametrize(
    "duplicate", ["ada@example.com", "ADA@EXAMPLE.COM", "Ada@Example.com", "ada@EXAMPLE.com"]
)
def test_user_create_refuses_an_email_taken_in_any_case(duplicate):
    # Given a user
    UserFactory(email="ada@example.com")
    before = accounts_state()

    # When someone signs up with the same address in another case
    with pytest.raises(ApplicationError) as refused:
        services.user_create(email=duplicate, password="another-long-password")

    # Then it is refused on the email field and nothing is written
    assert (refused.value.code, refused.value.fields) == (
        "email_taken",
        {"email": ["A user with this email exists."]},
    )
    assert accounts_state() == before


@pytest.mark.django_db(transaction=True)
def test_concurrent_sign_ups_with_one_email_create_one_user():
    # Given 8 sign-ups with the same address in different cases, at the same moment
    emails = ["ada@example.com", "ADA@example.com", "Ada@Example.com", "ada@EXAMPLE.COM"] * 2

    outcomes = run_concurrently(
        len(emails),
        lambda index: services.user_create(email=emails[index], password="long-password-123"),
    )

    # Then one user exists, and every other sign-up gets the business error, not a crash
    assert User.objects.count() == 1
    assert EmailAddress.objects.count() == 1
    losers = [outcome.error for outcome in outcomes if not outcome.succeeded]
    assert [(type(error).__name__, getattr(error, "code", None)) for error in losers] == [
        ("ApplicationError", "email_taken")
    ] * (len(emails) - 1)


@pytest.mark.django_db
def test_worker_register_with_terms_accepted():
    user = UserFactory()

    worker = services.worker_register(user=user, display_name="Ada", accept_terms=True)

    worker.refresh_from_db()
    assert (worker.user, worker.display_name) == (user, "Ada")
    assert worker.terms_accepted_at is not None
    assert worker.banned_at is None
    assert worker.public_id == f"worker-{worker.pk}"


@pytest.mark.django_db
def test_worker_register_without_terms_keeps_the_terms_unaccepted():
    user = UserFactory()

    worker = services.worker_register(user=user, display_name="Ada", accept_terms=False)

    worker.refresh_from_db()
    assert worker.terms_accepted_at is None


@pytest.mark.django_db
def test_worker_register_again_keeps_one_profile_and_the_first_acceptance_time():
    # Given a worker who registered without accepting, then accepted
    user = UserFactory()
    services.worker_register(user=user, display_name="Ada", accept_terms=False)
    accepted = services.worker_register(user=user, display_name="Other", accept_terms=True)
    accepted_at = accepted.terms_accepted_at
    assert accepted_at is not None

    # When they register again
    again = services.worker_register(user=user, display_name="Third", accept_terms=True)

    # Then there is still one profile, with its first name and first acceptance time
    assert Worker.objects.filter(user=user).count() == 1
    again.refresh_from_db()
    assert (again.pk, again.display_name, again.terms_accepted_at) == (
        accepted.pk,
        "Ada",
        accepted_at,
    )
