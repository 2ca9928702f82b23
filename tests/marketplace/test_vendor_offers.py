"""The vendor offer lifecycle: offered on creation, accepted with a team, declined with a
reason, withdrawn by the requester, offered again. Every refusal changes nothing.

The helpers at the top (a vendor with a manager and teams, a running vendor job) are shared by
the other vendor tests."""

import itertools

import pytest
from allauth.mfa.models import Authenticator
from django.utils import timezone

from marketplace import selectors
from marketplace.errors import ApplicationError
from marketplace.models import Job, VendorOffer
from marketplace.services import jobs
from marketplace.services import offers as services
from tests.factories import OrganizationFactory, UserFactory, job_in_progress, job_spec
from workforce.models import Team, TeamMember, Vendor, VendorManager, Worker
from workforce.services import teams as team_services

pytestmark = pytest.mark.django_db

# --- shared helpers ------------------------------------------------------------------------------

_numbers = itertools.count(1)


def give_mfa(user) -> None:
    Authenticator.objects.create(
        user=user, type=Authenticator.Type.TOTP, data={"secret": "JBSWY3DPEHPK3PXP"}
    )


def vendor_with_teams(*team_names: str, mfa: bool = True):
    """A vendor, its manager (with an authenticator app unless `mfa` is False) and its teams
    (default: one team, "Alpha"). Returns (vendor, manager, teams)."""
    number = next(_numbers)
    # There is no vendor service: vendors and their managers are rows an admin creates.
    vendor = Vendor.objects.create(name=f"Labelers {number}", slug=f"labelers-{number}")
    manager = UserFactory()
    VendorManager.objects.create(vendor=vendor, user=manager)
    if mfa:
        give_mfa(manager)
    teams = [
        team_services.team_create(owner=vendor, name=name) for name in (team_names or ("Alpha",))
    ]
    return vendor, manager, teams


def join(team: Team, *workers: Worker) -> None:
    # Membership comes from an accepted email invitation (tested with the team services);
    # here the worker is put on the team directly.
    for worker in workers:
        TeamMember.objects.create(team=team, worker=worker)


def vendor_job(
    organization,
    vendor: Vendor,
    *,
    objects: int = 3,
    name: str = "pets",
    price: str = "0.100",
    funds_mills: int = 1_000_000,
    **overrides,
) -> Job:
    """A funded vendor job whose manifest of `objects` images has been read (InProgress), with
    the pending offer its creation made."""
    return job_in_progress(
        organization,
        objects=objects,
        funds_mills=funds_mills,
        name=name,
        workforce=f"vendor:{vendor.slug}",
        vendor_price_per_object=price,
        reward_per_task=None,
        input_manifest_uri=f"s3://groundwork-test/input/{name}.manifest",
        **overrides,
    )


def offer_of(job: Job) -> VendorOffer:
    """The job's latest offer."""
    return job.vendor_offers.order_by("-pk").first()


def offers_snapshot() -> list[tuple]:
    return list(
        VendorOffer.objects.order_by("pk").values_list(
            "pk",
            "job",
            "vendor",
            "price_per_object_mills",
            "status",
            "team",
            "created_by",
            "responded_at",
            "responded_by",
            "decline_reason",
        )  # fmt: skip
    )


@pytest.fixture
def vendor_setup():
    return vendor_with_teams("Alpha", "Beta")


@pytest.fixture
def offered(organization, vendor_setup):
    """A running vendor job of `organization` with its pending offer."""
    vendor, _, _ = vendor_setup
    return offer_of(vendor_job(organization, vendor))


# --- creation ------------------------------------------------------------------------------------


def test_creating_a_vendor_job_offers_it_to_the_vendor_at_its_price(
    organization, requester, vendor_setup
):
    vendor, _, _ = vendor_setup

    job = vendor_job(organization, vendor, price="0.125")

    offer = job.vendor_offers.get()
    assert (offer.vendor, offer.price_per_object_mills, offer.status) == (vendor, 125, "pending")
    assert (offer.created_by, offer.team, offer.responded_at, offer.responded_by) == (
        requester, None, None, None,
    )  # fmt: skip


def test_a_job_with_a_live_offer_is_not_offered_again(offered, requester):
    before = offers_snapshot()

    with pytest.raises(ApplicationError) as refused:
        services.vendor_offer_create(job=offered.job, created_by=requester)

    assert (refused.value.code, refused.value.status, refused.value.field) == (
        "offer_exists", 409, "job",
    )  # fmt: skip
    assert offers_snapshot() == before


def test_an_accepted_job_is_not_offered_again(offered, requester, vendor_setup):
    _, manager, (alpha, _) = vendor_setup
    services.vendor_offer_accept(offer=offered, team=alpha, responded_by=manager)
    before = offers_snapshot()

    with pytest.raises(ApplicationError) as refused:
        services.vendor_offer_create(job=offered.job, created_by=requester)

    assert refused.value.code == "offer_exists"
    assert offers_snapshot() == before


@pytest.mark.parametrize("end", ["declined", "withdrawn"])
def test_a_declined_or_withdrawn_offer_can_be_followed_by_a_new_one(
    offered, requester, vendor_setup, end
):
    _, manager, _ = vendor_setup
    if end == "declined":
        services.vendor_offer_decline(offer=offered, reason="Too busy.", responded_by=manager)
    else:
        services.vendor_offer_withdraw(offer=offered, withdrawn_by=requester)

    again = services.vendor_offer_create(job=offered.job, created_by=requester)

    assert again.pk != offered.pk
    assert (again.status, again.vendor_id, again.price_per_object_mills) == (
        "pending", offered.vendor_id, 100,
    )  # fmt: skip
    assert list(offered.job.vendor_offers.order_by("pk").values_list("status", flat=True)) == [
        end,
        "pending",
    ]


def test_only_vendor_jobs_are_offered(organization, requester):
    from tests.factories import job_in_progress

    public = job_in_progress(organization, objects=1)

    with pytest.raises(ApplicationError) as refused:
        services.vendor_offer_create(job=public, created_by=requester)

    assert (refused.value.code, refused.value.status) == ("not_vendor_job", 400)
    assert VendorOffer.objects.count() == 0


def test_an_ended_job_is_not_offered_again(offered, requester):
    services.vendor_offer_withdraw(offer=offered, withdrawn_by=requester)
    jobs.job_fail(job=offered.job, reason="Stopped for the test.")
    before = offers_snapshot()

    with pytest.raises(ApplicationError) as refused:
        services.vendor_offer_create(job=offered.job, created_by=requester)

    assert (refused.value.code, refused.value.status) == ("job_ended", 409)
    assert offers_snapshot() == before


# --- accept --------------------------------------------------------------------------------------


def test_the_vendor_accepts_with_one_of_its_teams(offered, vendor_setup):
    _, manager, (_, beta) = vendor_setup
    started = timezone.now()

    accepted = services.vendor_offer_accept(offer=offered, team=beta, responded_by=manager)

    offered.refresh_from_db()
    assert (offered.status, offered.team, offered.responded_by) == ("accepted", beta, manager)
    assert offered.responded_at >= started
    assert accepted.pk == offered.pk


@pytest.mark.parametrize("whose", ["another vendor", "a requester"])
def test_accepting_with_a_team_the_vendor_does_not_own_is_refused(
    offered, vendor_setup, organization, whose
):
    _, manager, _ = vendor_setup
    if whose == "another vendor":
        _, _, (team,) = vendor_with_teams("Gamma")
    else:
        team = team_services.team_create(owner=organization, name="In-house")
    before = offers_snapshot()

    with pytest.raises(ApplicationError) as refused:
        services.vendor_offer_accept(offer=offered, team=team, responded_by=manager)

    assert (refused.value.code, refused.value.status, refused.value.field) == (
        "unknown_team", 400, "team_id",
    )  # fmt: skip
    assert offers_snapshot() == before


@pytest.mark.parametrize("end", ["accepted", "declined", "withdrawn"])
def test_only_a_pending_offer_is_answered(offered, requester, vendor_setup, end):
    _, manager, (alpha, beta) = vendor_setup
    if end == "accepted":
        services.vendor_offer_accept(offer=offered, team=alpha, responded_by=manager)
    elif end == "declined":
        services.vendor_offer_decline(offer=offered, reason="No capacity.", responded_by=manager)
    else:
        services.vendor_offer_withdraw(offer=offered, withdrawn_by=requester)
    before = offers_snapshot()

    answers = [
        lambda: services.vendor_offer_accept(offer=offered, team=beta, responded_by=manager),
        lambda: services.vendor_offer_decline(offer=offered, reason="Late.", responded_by=manager),
        lambda: services.vendor_offer_withdraw(offer=offered, withdrawn_by=requester),
    ]
    for answer in answers:
        with pytest.raises(ApplicationError) as refused:
            answer()
        assert (refused.value.code, refused.value.status) == ("invalid_transition", 409)
        assert refused.value.message.startswith(f"The offer is {end} and cannot become ")

    assert offers_snapshot() == before


def test_an_offer_of_a_failed_job_cannot_be_accepted(offered, vendor_setup):
    _, manager, (alpha, _) = vendor_setup
    jobs.job_fail(job=offered.job, reason="Stopped for the test.")  # withdraws the offer
    before = offers_snapshot()

    with pytest.raises(ApplicationError) as refused:
        services.vendor_offer_accept(offer=offered, team=alpha, responded_by=manager)

    assert (refused.value.code, refused.value.status) == ("invalid_transition", 409)
    assert refused.value.message == "The offer is withdrawn and cannot become accepted."
    assert offers_snapshot() == before


# --- decline and withdraw ------------------------------------------------------------------------


def test_the_vendor_declines_with_a_reason(offered, vendor_setup):
    _, manager, _ = vendor_setup

    services.vendor_offer_decline(
        offer=offered, reason="  No annotators free in May.  ", responded_by=manager
    )

    offered.refresh_from_db()
    assert (offered.status, offered.decline_reason, offered.responded_by, offered.team) == (
        "declined", "No annotators free in May.", manager, None,
    )  # fmt: skip
    assert offered.responded_at is not None


@pytest.mark.parametrize(
    ("reason", "code"),
    [("", "reason_required"), ("   ", "reason_required"), ("x" * 2001, "reason_too_long")],
)
def test_a_decline_needs_a_reason_of_at_most_2000_characters(offered, vendor_setup, reason, code):
    _, manager, _ = vendor_setup
    before = offers_snapshot()

    with pytest.raises(ApplicationError) as refused:
        services.vendor_offer_decline(offer=offered, reason=reason, responded_by=manager)

    assert (refused.value.code, refused.value.status, refused.value.field) == (code, 400, "reason")
    assert offers_snapshot() == before


def test_the_requester_withdraws_a_pending_offer(offered, requester):
    services.vendor_offer_withdraw(offer=offered, withdrawn_by=requester)

    offered.refresh_from_db()
    assert (offered.status, offered.responded_by, offered.team, offered.decline_reason) == (
        "withdrawn", requester, None, "",
    )  # fmt: skip
    assert offered.responded_at is not None


def test_offers_of_other_organisations_are_not_listed(offered):
    other = OrganizationFactory()

    assert list(selectors.vendor_offer_list_for_organization(organization=other)) == []
    assert list(
        selectors.vendor_offer_list_for_organization(organization=offered.job.organization)
    ) == [offered]


def test_a_failed_job_withdraws_its_pending_offer(organization, vendor_setup):
    from marketplace.api.serializers import JobSpecInput
    from tasks.manifests import ingest

    vendor, _, _ = vendor_setup
    # Given a vendor job whose manifest cannot be read
    payload = JobSpecInput(
        data=job_spec(
            name="broken",
            workforce=f"vendor:{vendor.slug}",
            vendor_price_per_object="0.100",
            reward_per_task=None,
            input_manifest_uri="s3://groundwork-test/missing.manifest",
        )
    )
    payload.is_valid(raise_exception=True)
    job = jobs.job_create(
        organization=organization,
        created_by=organization.memberships.get().user,
        spec=payload.validated_data,
    )
    assert job.vendor_offers.get().status == VendorOffer.Status.PENDING

    # When it fails at Initializing
    ingest.manifest_ingest(job_id=job.pk)

    # Then the offer is withdrawn, so the vendor cannot take it on
    offer = job.vendor_offers.get()
    assert (offer.status, offer.responded_by) == (VendorOffer.Status.WITHDRAWN, None)
