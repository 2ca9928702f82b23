"""The claim and the submit are the busiest requests there are: the statements each sends are
counted here, so that a change adding one (a field read later, a lookup per item) shows."""

import pytest

from tests.factories import job_in_progress

pytestmark = pytest.mark.django_db

CAT = {"crowd-image-classifier": {"label": "cat"}}


def claim(client, job):
    response = client.post(f"/api/v1/worker/jobs/{job.pk}/assignments")
    assert response.status_code == 201, response.content
    return response.json()


def submit(client, assignment):
    response = client.post(
        f"/api/v1/worker/assignments/{assignment['id']}/submit", CAT, format="json"
    )
    assert response.status_code == 200, response.content
    return response.json()


def test_a_claim_and_a_submit_each_send_a_few_statements(
    organization, worker_client, django_assert_num_queries
):
    job = job_in_progress(organization, objects=3, workers_per_object=2)
    submit(worker_client, claim(worker_client, job))  # the key's first use is recorded

    # The key with its user and worker; the job with the worker's block; the claim itself
    # (inside the test's transaction, between a savepoint and its release).
    with django_assert_num_queries(5):
        assignment = claim(worker_client, job)
    assert assignment["task_input"]["taskObject"].startswith("http")

    # The key; the assignment with its object and job; the object locked and the answer
    # stored, between a savepoint and its release.
    with django_assert_num_queries(6):
        submitted = submit(worker_client, assignment)
    assert submitted["status"] == "submitted"
