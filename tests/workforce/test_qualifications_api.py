"""/api/v1/qualification-types (requesters: types and grants) and
/api/v1/worker/qualification-types (workers: values and tests): roles, exact answers, refusals
that change nothing."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework import serializers
from rest_framework.test import APIClient

from tests.conftest import bearer_client
from tests.factories import OrganizationFactory, UserFactory, WorkerFactory
from tests.workforce.test_qualifications_services import (
    QUESTIONS,
    RIGHT,
    TEST,
    THREE_RIGHT,
    TWO_RIGHT,
    age_attempts,
    make_type,
    state,
)
from workforce.models import QualificationGrant, QualificationTestAttempt, QualificationType
from workforce.services import qualifications as services

pytestmark = pytest.mark.django_db

TYPES = "/api/v1/qualification-types"
WORKER_TYPES = "/api/v1/worker/qualification-types"
NOT_AUTHENTICATED = {
    "code": "not_authenticated",
    "detail": "Authentication credentials were not provided.",
    "fields": {},
}
PERMISSION_DENIED = {
    "code": "permission_denied",
    "detail": "You do not have permission to perform this action.",
    "fields": {},
}
WORKER_ONLY = {
    "code": "permission_denied",
    "detail": "Only workers who accepted the worker terms can do this.",
    "fields": {},
}
NOT_FOUND = {"code": "not_found", "detail": "Not found.", "fields": {}}


def iso(value) -> str:
    return serializers.DateTimeField().to_representation(value)


def invalid(fields: dict) -> dict:
    return {"code": "invalid", "detail": "The request is not valid.", "fields": fields}


def type_body(qualification_type, *, grant_count: int = 0) -> dict:
    test = None
    if qualification_type.test_questions:
        test = {
            "questions": qualification_type.test_questions,
            "passing_score_percent": qualification_type.passing_score_percent,
            "retry_delay_seconds": qualification_type.retry_delay_seconds,
        }
    return {
        "id": qualification_type.pk,
        "name": qualification_type.name,
        "description": qualification_type.description,
        "test": test,
        "grant_count": grant_count,
        "created_at": iso(qualification_type.created_at),
    }


@pytest.fixture
def pets(organization) -> QualificationType:
    return make_type(organization, description="Knows cats from dogs.")


# --- who may call each endpoint ------------------------------------------------------------------

REQUESTER_ENDPOINTS = [
    ("get", "/{type}"),
    ("patch", "/{type}"),
    ("delete", "/{type}"),
    ("get", "/{type}/grants"),
    ("post", "/{type}/grants"),
    ("delete", "/{type}/grants/{worker}"),
]
REQUESTER_REFUSALS = {
    "anonymous": (401, NOT_AUTHENTICATED),
    "user without a role": (403, PERMISSION_DENIED),
    "worker": (403, PERMISSION_DENIED),
    "requester of another organisation": (404, NOT_FOUND),
}


def caller(who: str) -> APIClient:
    if who == "anonymous":
        return APIClient()
    if who == "user without a role":
        return bearer_client(UserFactory())
    if who == "worker":
        return bearer_client(WorkerFactory().user)
    if who == "requester of another organisation":
        return bearer_client(OrganizationFactory().memberships.get().user)
    if who == "requester":
        return bearer_client(OrganizationFactory().memberships.get().user)
    raise AssertionError(who)


@pytest.mark.parametrize("who", REQUESTER_REFUSALS)
@pytest.mark.parametrize(("method", "rest"), REQUESTER_ENDPOINTS)
def test_requester_endpoints_refuse_everyone_but_the_owner(pets, worker, who, method, rest):
    services.qualification_grant_set(qualification_type=pets, worker=worker, value=7)
    before = state()
    url = TYPES + rest.format(type=pets.pk, worker=worker.pk)
    body = {"name": "Renamed", "worker_id": worker.public_id, "value": 1}

    response = getattr(caller(who), method)(url, body, format="json")

    assert (response.status_code, response.json()) == REQUESTER_REFUSALS[who]
    assert state() == before


@pytest.mark.parametrize("who", ["anonymous", "user without a role", "worker"])
@pytest.mark.parametrize("method", ["get", "post"])
def test_the_type_list_refuses_anyone_but_requesters(who, method):
    response = getattr(caller(who), method)(TYPES, {"name": "Pet expert"}, format="json")

    assert (response.status_code, response.json()) == REQUESTER_REFUSALS[who]
    assert state() == ([], [], [])


WORKER_REFUSALS = {
    "anonymous": (401, NOT_AUTHENTICATED),
    "user without a role": (403, WORKER_ONLY),
    "requester": (403, WORKER_ONLY),
}


@pytest.mark.parametrize("who", WORKER_REFUSALS)
@pytest.mark.parametrize(
    ("method", "path"), [("get", ""), ("get", "/{type}/test"), ("post", "/{type}/test")]
)
def test_worker_endpoints_refuse_everyone_but_workers(pets, who, method, path):
    before = state()

    response = getattr(caller(who), method)(
        WORKER_TYPES + path.format(type=pets.pk), {"answers": RIGHT}, format="json"
    )

    assert (response.status_code, response.json()) == WORKER_REFUSALS[who]
    assert state() == before


# --- requester: types ----------------------------------------------------------------------------


def test_create_a_type_with_a_test(organization, requester_client):
    response = requester_client.post(
        TYPES,
        {
            "name": " Pet expert ",
            "description": "Knows cats from dogs.",
            "test": {"questions": QUESTIONS, "passing_score_percent": 75},
        },
        format="json",
    )

    assert response.status_code == 201, response.json()
    created = QualificationType.objects.get()
    assert created.organization == organization
    assert response.json() == {
        "id": created.pk,
        "name": "Pet expert",
        "description": "Knows cats from dogs.",
        "test": {"questions": QUESTIONS, "passing_score_percent": 75, "retry_delay_seconds": 86400},
        "grant_count": 0,
        "created_at": iso(created.created_at),
    }


def test_create_a_type_without_a_test(requester_client):
    response = requester_client.post(TYPES, {"name": "Trusted"}, format="json")

    assert response.status_code == 201, response.json()
    created = QualificationType.objects.get()
    assert response.json() == type_body(created)
    assert created.test_questions == []


def test_every_bad_question_is_named_by_its_path(requester_client):
    questions = [
        QUESTIONS[0],
        {"question": "", "options": ["a"], "answer": "a"},
        {"question": "Which?", "options": ["a", "b"], "answer": "c"},
        {"question": "Twice?", "options": ["a", "a"], "answer": "a"},
        {"options": ["a", "b"]},
        "not a question",
    ]
    response = requester_client.post(
        TYPES,
        {
            "name": "Pet expert",
            "test": {
                "questions": questions,
                "passing_score_percent": 101,
                "retry_delay_seconds": -1,
            },
        },
        format="json",
    )

    assert response.status_code == 400
    assert response.json() == invalid(
        {
            "test.questions[1].question": ["This field may not be blank."],
            "test.questions[1].options": ["Ensure this field has at least 2 elements."],
            "test.questions[2].answer": ["Must be one of the options."],
            "test.questions[3].options": ["“a” is listed twice."],
            "test.questions[4].question": ["This field is required."],
            "test.questions[4].answer": ["This field is required."],
            "test.questions[5]": ["Invalid data. Expected a dictionary, but got str."],
            "test.passing_score_percent": ["Ensure this value is less than or equal to 100."],
            "test.retry_delay_seconds": ["Ensure this value is greater than or equal to 0."],
        }
    )
    assert state() == ([], [], [])


def test_a_test_needs_questions(requester_client):
    response = requester_client.post(
        TYPES, {"name": "Pet expert", "test": {"questions": []}}, format="json"
    )

    assert response.status_code == 400
    assert response.json() == invalid({"test.questions": ["This list may not be empty."]})
    assert state() == ([], [], [])


@pytest.mark.parametrize(
    ("name", "code", "message"),
    [
        ("PET EXPERT", "name_taken", "You already have a qualification type named “PET EXPERT”."),
        ("", "invalid", "Enter a name."),
        (
            "gold_accuracy",
            "name_reserved",
            "“gold_accuracy” is the name of a system qualification.",
        ),
    ],
)
def test_bad_names_are_refused(pets, requester_client, name, code, message):
    before = state()

    response = requester_client.post(TYPES, {"name": name}, format="json")

    assert response.status_code == 400
    assert response.json() == {"code": code, "detail": message, "fields": {"name": [message]}}
    assert state() == before


def test_list_shows_only_the_organisations_types_with_grant_counts(
    organization, pets, requester_client
):
    trusted = make_type(organization, name="Trusted", test=None)
    make_type(OrganizationFactory(), name="Elsewhere")
    for value in (1, 2):
        services.qualification_grant_set(
            qualification_type=trusted, worker=WorkerFactory(), value=value
        )

    with CaptureQueriesContext(connection) as queries:
        response = requester_client.get(TYPES)

    assert response.status_code == 200
    assert response.json() == {
        "count": 2,
        "next": None,
        "previous": None,
        "results": [type_body(pets), type_body(trusted, grant_count=2)],
    }
    assert len(queries) <= 6  # the key, the organisation, the count and one page: no N+1


def test_get_a_type(pets, requester_client):
    response = requester_client.get(f"{TYPES}/{pets.pk}")

    assert response.status_code == 200
    assert response.json() == type_body(pets)


def test_patch_changes_what_is_given(pets, requester_client):
    response = requester_client.patch(
        f"{TYPES}/{pets.pk}", {"description": "New.", "name": "Pet Expert"}, format="json"
    )

    assert response.status_code == 200, response.json()
    pets.refresh_from_db()
    assert (pets.name, pets.description, pets.test_questions) == ("Pet Expert", "New.", QUESTIONS)
    assert response.json() == type_body(pets)


def test_patch_replaces_the_test_or_removes_it(pets, requester_client):
    response = requester_client.patch(
        f"{TYPES}/{pets.pk}", {"test": {"questions": QUESTIONS[:2]}}, format="json"
    )

    assert response.status_code == 200, response.json()
    assert response.json()["test"] == {
        "questions": QUESTIONS[:2],
        "passing_score_percent": 100,
        "retry_delay_seconds": 86400,
    }

    response = requester_client.patch(f"{TYPES}/{pets.pk}", {"test": None}, format="json")

    assert response.status_code == 200
    assert response.json()["test"] is None
    pets.refresh_from_db()
    assert pets.test_questions == []


def test_patch_with_a_bad_test_changes_nothing(pets, requester_client):
    before = state()

    response = requester_client.patch(
        f"{TYPES}/{pets.pk}",
        {
            "description": "Changed.",
            "test": {"questions": [{"question": "Q?", "options": ["a", "b"], "answer": "z"}]},
        },
        format="json",
    )

    assert response.status_code == 400
    assert response.json() == invalid({"test.questions[0].answer": ["Must be one of the options."]})
    assert state() == before


def test_patch_to_a_taken_name_is_refused(organization, pets, requester_client):
    make_type(organization, name="Trusted", test=None)
    before = state()

    response = requester_client.patch(f"{TYPES}/{pets.pk}", {"name": "trusted"}, format="json")

    assert response.status_code == 400
    assert response.json()["fields"] == {
        "name": ["You already have a qualification type named “trusted”."]
    }
    assert state() == before


def test_delete_a_type(pets, worker, requester_client):
    services.qualification_grant_set(qualification_type=pets, worker=worker, value=1)

    response = requester_client.delete(f"{TYPES}/{pets.pk}")

    assert response.status_code == 204
    assert state() == ([], [], [])


def test_deleting_a_type_a_job_requires_is_a_conflict(pets, requester_client):
    from tests.factories import job_spec

    spec = job_spec(
        qualification_requirements=[{"qualification": "pet expert", "comparator": "exists"}]
    )
    created = requester_client.post("/api/v1/labeling-jobs", spec, format="json")
    assert created.status_code == 201, created.json()
    assert created.json()["qualification_requirements"] == [
        {"qualification": f"type:{pets.pk}", "comparator": "exists"}
    ]
    before = state()

    response = requester_client.delete(f"{TYPES}/{pets.pk}")

    assert response.status_code == 409
    assert response.json() == {
        "code": "qualification_in_use",
        "detail": "The qualification type “Pet expert” is required by 1 labeling job (pets) "
        "and cannot be deleted.",
        "fields": {},
    }
    assert state() == before


# --- requester: grants ---------------------------------------------------------------------------


def test_grant_by_hand_then_update_the_value(pets, worker, requester_client):
    url = f"{TYPES}/{pets.pk}/grants"

    response = requester_client.post(
        url, {"worker_id": worker.public_id, "value": 90}, format="json"
    )

    assert response.status_code == 201, response.json()
    grant = QualificationGrant.objects.get()
    assert response.json() == {
        "worker_id": worker.public_id,
        "display_name": worker.display_name,
        "value": 90,
        "granted_by_test": False,
        "granted_at": iso(grant.granted_at),
        "updated_at": iso(grant.updated_at),
    }

    response = requester_client.post(url, {"worker_id": worker.public_id}, format="json")

    assert response.status_code == 200
    assert response.json()["value"] == 1  # MTurk's default value
    assert list(QualificationGrant.objects.values_list("pk", "value")) == [(grant.pk, 1)]


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({"worker_id": "worker-999999"}, {"worker_id": ["No worker has this id."]}),
        ({"worker_id": "someone"}, {"worker_id": ["No worker has this id."]}),
        ({}, {"worker_id": ["This field is required."]}),
        (
            {"worker_id": "{worker}", "value": "high"},
            {"value": ["A valid integer is required."]},
        ),
        (
            {"worker_id": "{worker}", "value": 2**31},
            {"value": ["Ensure this value is less than or equal to 2147483647."]},
        ),
    ],
)
def test_bad_grants_are_refused(pets, worker, requester_client, body, fields):
    body = {
        key: value.format(worker=worker.public_id) if isinstance(value, str) else value
        for key, value in body.items()
    }

    response = requester_client.post(f"{TYPES}/{pets.pk}/grants", body, format="json")

    assert response.status_code == 400
    assert response.json()["fields"] == fields
    assert state()[1] == []


def test_list_grants(pets, requester_client):
    first, second = WorkerFactory(), WorkerFactory()
    services.qualification_grant_set(qualification_type=pets, worker=first, value=3)
    services.qualification_test_submit(worker=second, qualification_type=pets, answers=RIGHT)
    other = make_type(OrganizationFactory(), name="Elsewhere", test=None)
    services.qualification_grant_set(qualification_type=other, worker=first, value=9)

    with CaptureQueriesContext(connection) as queries:
        response = requester_client.get(f"{TYPES}/{pets.pk}/grants")

    assert response.status_code == 200
    grants = QualificationGrant.objects.filter(qualification_type=pets).order_by("pk")
    assert response.json()["results"] == [
        {
            "worker_id": grant.worker.public_id,
            "display_name": grant.worker.display_name,
            "value": value,
            "granted_by_test": by_test,
            "granted_at": iso(grant.granted_at),
            "updated_at": iso(grant.updated_at),
        }
        for grant, value, by_test in zip(grants, [3, 100], [False, True], strict=True)
    ]
    assert len(queries) <= 7


def test_delete_a_grant(pets, worker, requester_client):
    services.qualification_grant_set(qualification_type=pets, worker=worker, value=3)

    response = requester_client.delete(f"{TYPES}/{pets.pk}/grants/{worker.pk}")

    assert response.status_code == 204
    assert QualificationGrant.objects.count() == 0


def test_deleting_a_grant_the_worker_does_not_hold_is_404(pets, worker, requester_client):
    response = requester_client.delete(f"{TYPES}/{pets.pk}/grants/{worker.pk}")

    assert (response.status_code, response.json()) == (404, NOT_FOUND)


# --- worker: types and tests ---------------------------------------------------------------------


def worker_type_body(qualification_type, *, value=None, can_retake_at=None) -> dict:
    has_test = bool(qualification_type.test_questions)
    return {
        "id": qualification_type.pk,
        "name": qualification_type.name,
        "description": qualification_type.description,
        "requester": qualification_type.organization.name,
        "has_test": has_test,
        "question_count": len(qualification_type.test_questions),
        "passing_score_percent": qualification_type.passing_score_percent if has_test else None,
        "retry_delay_seconds": qualification_type.retry_delay_seconds if has_test else None,
        "value": value,
        "can_retake_at": iso(can_retake_at) if can_retake_at else None,
    }


def test_a_worker_lists_tests_and_the_types_they_hold(organization, pets, worker, worker_client):
    trusted = make_type(organization, name="Trusted", test=None)
    make_type(organization, name="Secret", test=None)  # no test and not held
    birds = make_type(OrganizationFactory(), name="Birds", test={**TEST, "retry_delay_seconds": 0})
    services.qualification_grant_set(qualification_type=trusted, worker=worker, value=4)
    attempt = services.qualification_test_submit(
        worker=worker, qualification_type=pets, answers=TWO_RIGHT
    )
    services.qualification_test_submit(worker=worker, qualification_type=birds, answers=RIGHT)
    services.qualification_test_submit(  # another worker's results do not show
        worker=WorkerFactory(), qualification_type=pets, answers=RIGHT
    )

    with CaptureQueriesContext(connection) as queries:
        response = worker_client.get(WORKER_TYPES)

    assert response.status_code == 200
    assert response.json() == {
        "count": 3,
        "next": None,
        "previous": None,
        "results": [
            worker_type_body(birds, value=100),
            worker_type_body(pets, can_retake_at=attempt.submitted_at + timedelta(seconds=3600)),
            worker_type_body(trusted, value=4),
        ],
    }
    assert len(queries) <= 6


def test_the_test_is_shown_without_its_answers(pets, worker_client):
    response = worker_client.get(f"{WORKER_TYPES}/{pets.pk}/test")

    assert response.status_code == 200
    assert response.json() == {
        **worker_type_body(pets),
        "questions": [
            {"question": question["question"], "options": question["options"]}
            for question in QUESTIONS
        ],
    }
    assert "answer" not in response.content.decode().replace("answers", "")


def test_a_type_without_a_test_has_no_test_page(organization, worker, worker_client):
    trusted = make_type(organization, name="Trusted", test=None)
    services.qualification_grant_set(qualification_type=trusted, worker=worker, value=1)

    for method in ("get", "post"):
        response = getattr(worker_client, method)(
            f"{WORKER_TYPES}/{trusted.pk}/test", {"answers": []}, format="json"
        )
        assert (response.status_code, response.json()) == (404, NOT_FOUND)
    assert QualificationTestAttempt.objects.count() == 0


def test_taking_a_test_and_passing(pets, worker, worker_client):
    response = worker_client.post(
        f"{WORKER_TYPES}/{pets.pk}/test", {"answers": THREE_RIGHT}, format="json"
    )

    assert response.status_code == 201, response.json()
    attempt = QualificationTestAttempt.objects.get()
    assert (attempt.worker, attempt.answers, attempt.score_percent, attempt.passed) == (
        worker,
        THREE_RIGHT,
        75,
        True,
    )
    assert response.json() == {
        "score_percent": 75,
        "passed": True,
        "passing_score_percent": 75,
        "value": 75,
        "submitted_at": iso(attempt.submitted_at),
        "can_retake_at": iso(attempt.submitted_at + timedelta(seconds=3600)),
    }
    assert list(QualificationGrant.objects.values_list("worker", "value", "granted_by_test")) == [
        (worker.pk, 75, True)
    ]


def test_taking_a_test_and_failing(pets, worker_client):
    response = worker_client.post(
        f"{WORKER_TYPES}/{pets.pk}/test", {"answers": TWO_RIGHT}, format="json"
    )

    assert response.status_code == 201
    body = response.json()
    assert (body["score_percent"], body["passed"], body["value"]) == (50, False, None)
    assert QualificationGrant.objects.count() == 0


def test_a_failed_retake_keeps_the_value(pets, worker, worker_client):
    services.qualification_test_submit(worker=worker, qualification_type=pets, answers=RIGHT)
    age_attempts(worker, 3600)

    response = worker_client.post(
        f"{WORKER_TYPES}/{pets.pk}/test", {"answers": TWO_RIGHT}, format="json"
    )

    assert response.status_code == 201
    assert (response.json()["passed"], response.json()["value"]) == (False, 100)


def test_a_retake_before_the_delay_is_429_and_stores_nothing(pets, worker, worker_client):
    first = services.qualification_test_submit(
        worker=worker, qualification_type=pets, answers=TWO_RIGHT
    )
    before = state()

    response = worker_client.post(
        f"{WORKER_TYPES}/{pets.pk}/test", {"answers": RIGHT}, format="json"
    )

    assert response.status_code == 429
    retake_at = first.submitted_at + timedelta(seconds=3600)
    assert response.json() == {
        "code": "retake_too_soon",
        "detail": "This test can be taken once every 1 hour. You can take it again at "
        f"{services.iso_utc(retake_at)}.",
        "fields": {},
    }
    assert 3590 <= int(response["Retry-After"]) <= 3600
    assert state() == before


@pytest.mark.parametrize(
    ("answers", "fields"),
    [
        (RIGHT[:2], {"answers": ["Give one answer for each of the 4 questions."]}),
        (
            ["dog", "horse", "fish", "five"],
            {
                "answers[1]": ["Choose one of the options of question 2."],
                "answers[3]": ["Choose one of the options of question 4."],
            },
        ),
        (["dog", None, "fish", "4"], {"answers[1]": ["This field may not be null."]}),
        ("dog", {"answers": ['Expected a list of items but got type "str".']}),
    ],
)
def test_bad_answers_are_400_and_store_nothing(pets, worker_client, answers, fields):
    response = worker_client.post(
        f"{WORKER_TYPES}/{pets.pk}/test", {"answers": answers}, format="json"
    )

    assert response.status_code == 400
    assert response.json() == invalid(fields)
    assert state()[1:] == ([], [])
