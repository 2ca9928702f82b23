"""Racing answers to one vendor offer: PostgreSQL row locks let exactly one win."""

import pytest

from marketplace.errors import ApplicationError
from marketplace.models import VendorOffer
from marketplace.services import offers as services
from tests.concurrency import run_concurrently
from tests.marketplace.test_vendor_offers import offer_of, vendor_job, vendor_with_teams

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.mark.parametrize("rival", ["withdraw", "decline", "accept with another team"])
def test_an_accept_racing_another_answer_has_exactly_one_winner(organization, requester, rival):
    vendor, manager, (alpha, beta) = vendor_with_teams("Alpha", "Beta")
    offer = offer_of(vendor_job(organization, vendor))

    def answer(index: int) -> VendorOffer:
        if index == 0:
            return services.vendor_offer_accept(offer=offer, team=alpha, responded_by=manager)
        if rival == "withdraw":
            return services.vendor_offer_withdraw(offer=offer, withdrawn_by=requester)
        if rival == "decline":
            return services.vendor_offer_decline(offer=offer, reason="Busy.", responded_by=manager)
        return services.vendor_offer_accept(offer=offer, team=beta, responded_by=manager)

    outcomes = run_concurrently(2, answer)

    winners = [outcome for outcome in outcomes if outcome.succeeded]
    losers = [outcome for outcome in outcomes if not outcome.succeeded]
    assert len(winners) == 1 and len(losers) == 1
    assert isinstance(losers[0].error, ApplicationError)
    assert (losers[0].error.code, losers[0].error.status) == ("invalid_transition", 409)
    offer.refresh_from_db()
    won = winners[0].value
    assert (offer.status, offer.team_id) == (won.status, won.team_id)
    assert VendorOffer.objects.filter(job=offer.job).count() == 1


def test_two_racing_offers_of_one_job_make_one_offer(organization, requester):
    vendor, _, _ = vendor_with_teams()
    job = vendor_job(organization, vendor)
    services.vendor_offer_withdraw(offer=offer_of(job), withdrawn_by=requester)

    outcomes = run_concurrently(
        2, lambda index: services.vendor_offer_create(job=job, created_by=requester)
    )

    assert sum(outcome.succeeded for outcome in outcomes) == 1
    (loser,) = [outcome for outcome in outcomes if not outcome.succeeded]
    assert (loser.error.code, loser.error.status) == ("offer_exists", 409)
    assert list(job.vendor_offers.order_by("pk").values_list("status", flat=True)) == [
        "withdrawn",
        "pending",
    ]
