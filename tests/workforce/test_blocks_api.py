import pytest

from tests.conftest import bearer_client
from tests.factories import OrganizationFactory, WorkerFactory
from workforce.models import WorkerBlock

pytestmark = pytest.mark.django_db

BLOCKS = "/api/v1/worker-blocks"


def blocks() -> list:
    return list(WorkerBlock.objects.values_list("organization_id", "worker_id", "reason"))


def test_block_list_and_unblock(organization, requester_client, worker):
    created = requester_client.post(
        BLOCKS, {"worker_id": worker.public_id, "reason": "Random answers."}, format="json"
    )

    assert created.status_code == 201
    body = created.json()
    assert (body["worker_id"], body["reason"]) == (worker.public_id, "Random answers.")
    assert requester_client.get(BLOCKS).json()["count"] == 1
    again = requester_client.post(
        BLOCKS, {"worker_id": worker.public_id, "reason": "Twice."}, format="json"
    )
    assert (again.status_code, again.json()["code"]) == (409, "already_blocked")
    assert requester_client.delete(f"{BLOCKS}/{body['id']}").status_code == 204
    assert blocks() == []


@pytest.mark.parametrize(
    ("payload", "fields"),
    [
        (
            {"worker_id": "worker-999999", "reason": "x"},
            {"worker_id": ["There is no such worker."]},
        ),
        ({"worker_id": "12", "reason": "x"}, {"worker_id": ["There is no such worker."]}),
        ({"worker_id": "WORKER", "reason": ""}, {"reason": ["This field may not be blank."]}),
    ],
)
def test_bad_blocks_name_the_field_and_change_nothing(requester_client, payload, fields):
    response = requester_client.post(BLOCKS, payload, format="json")

    assert response.status_code == 400
    assert response.json()["fields"] == fields
    assert blocks() == []


def test_blocks_belong_to_their_organisation(organization, requester_client, worker):
    other = OrganizationFactory()
    theirs = WorkerBlock.objects.create(
        organization=other, worker=worker, reason="theirs", created_by=other.memberships.get().user
    )
    before = blocks()

    assert requester_client.get(BLOCKS).json()["count"] == 0
    assert requester_client.get(f"{BLOCKS}/{theirs.pk}").status_code == 404
    assert requester_client.delete(f"{BLOCKS}/{theirs.pk}").status_code == 404
    assert bearer_client(WorkerFactory().user).get(BLOCKS).status_code == 403
    assert blocks() == before
