"""Qualification services: types, hand grants, and tests scored at once with a retry delay."""

from datetime import timedelta

import pytest
from django.utils import timezone

from marketplace.errors import ApplicationError
from tests.factories import OrganizationFactory, WorkerFactory, job_spec
from workforce.models import QualificationGrant, QualificationTestAttempt, QualificationType
from workforce.selectors import qualifications as selectors
from workforce.services import qualifications as services

pytestmark = pytest.mark.django_db

QUESTIONS = [
    {"question": "Which animal barks?", "options": ["cat", "dog", "fish"], "answer": "dog"},
    {"question": "Which animal meows?", "options": ["cat", "dog"], "answer": "cat"},
    {"question": "Which one lives in water?", "options": ["cat", "fish"], "answer": "fish"},
    {"question": "How many legs has a dog?", "options": ["2", "4"], "answer": "4"},
]
RIGHT = ["dog", "cat", "fish", "4"]
THREE_RIGHT = ["dog", "cat", "fish", "2"]  # 75%
TWO_RIGHT = ["dog", "cat", "cat", "2"]  # 50%
TEST = {"questions": QUESTIONS, "passing_score_percent": 75, "retry_delay_seconds": 3600}


def make_type(organization, name: str = "Pet expert", test: dict | None = TEST, **fields):
    return services.qualification_type_create(
        organization=organization, name=name, test=test, **fields
    )


def state() -> tuple:
    """Every row the qualification services write."""
    return (
        sorted(
            QualificationType.objects.values_list(
                "organization_id",
                "name",
                "description",
                "test_questions",
                "passing_score_percent",
                "retry_delay_seconds",
            )
        ),
        sorted(
            QualificationGrant.objects.values_list(
                "qualification_type_id", "worker_id", "value", "granted_by_test"
            )
        ),
        sorted(
            QualificationTestAttempt.objects.values_list(
                "qualification_type_id", "worker_id", "answers", "score_percent", "passed"
            )
        ),
    )


def age_attempts(worker, seconds: int) -> None:
    """Move the worker's attempts back in time, as if `seconds` had passed."""
    for attempt in QualificationTestAttempt.objects.filter(worker=worker):
        QualificationTestAttempt.objects.filter(pk=attempt.pk).update(
            submitted_at=attempt.submitted_at - timedelta(seconds=seconds)
        )


# --- types ---------------------------------------------------------------------------------------


def test_create_a_type_with_a_test(organization):
    created = make_type(organization, name="  Pet expert ", description=" Knows pets. ")

    assert (created.organization, created.name, created.description) == (
        organization,
        "Pet expert",
        "Knows pets.",
    )
    assert created.test_questions == QUESTIONS
    assert (created.passing_score_percent, created.retry_delay_seconds) == (75, 3600)


def test_create_a_type_without_a_test(organization):
    created = make_type(organization, name="Trusted", test=None)

    assert created.test_questions == []


@pytest.mark.parametrize(
    ("name", "code", "message"),
    [
        ("pet EXPERT", "name_taken", "You already have a qualification type named “pet EXPERT”."),
        ("   ", "invalid", "Enter a name."),
        ("x" * 101, "invalid", "A name has at most 100 characters."),
        (
            "Approval_Rate",
            "name_reserved",
            "“Approval_Rate” is the name of a system qualification.",
        ),
    ],
)
def test_bad_names_are_refused_and_nothing_is_created(organization, name, code, message):
    make_type(organization)
    before = state()

    with pytest.raises(ApplicationError) as raised:
        make_type(organization, name=name)

    assert (raised.value.code, raised.value.message, raised.value.field) == (code, message, "name")
    assert state() == before


def test_another_organisation_may_use_the_same_name(organization):
    make_type(organization)
    other = make_type(OrganizationFactory(), name="PET EXPERT")

    assert other.name == "PET EXPERT"


def test_update_changes_only_what_is_given(organization):
    qualification_type = make_type(organization, description="Old.")

    updated = services.qualification_type_update(
        qualification_type=qualification_type, description="New."
    )

    assert (updated.name, updated.description, updated.test_questions) == (
        "Pet expert",
        "New.",
        QUESTIONS,
    )
    renamed = services.qualification_type_update(
        qualification_type=qualification_type, name="pet expert"
    )
    assert renamed.name == "pet expert"  # its own name, in another case, is not "taken"


def test_update_replaces_or_removes_the_test(organization):
    qualification_type = make_type(organization)
    one = {"questions": QUESTIONS[:1], "passing_score_percent": 100, "retry_delay_seconds": 0}

    services.qualification_type_update(qualification_type=qualification_type, test=one)
    qualification_type.refresh_from_db()
    assert qualification_type.test_questions == QUESTIONS[:1]
    assert (qualification_type.passing_score_percent, qualification_type.retry_delay_seconds) == (
        100,
        0,
    )

    services.qualification_type_update(qualification_type=qualification_type, test=None)
    qualification_type.refresh_from_db()
    assert qualification_type.test_questions == []


def test_update_refuses_a_name_another_type_has(organization):
    make_type(organization, name="Trusted", test=None)
    qualification_type = make_type(organization)
    before = state()

    with pytest.raises(ApplicationError) as raised:
        services.qualification_type_update(
            qualification_type=qualification_type, name="TRUSTED", description="Changed."
        )

    assert (raised.value.code, raised.value.field) == ("name_taken", "name")
    assert state() == before


def test_delete_removes_the_type_its_grants_and_attempts(organization, worker):
    qualification_type = make_type(organization)
    services.qualification_test_submit(
        worker=worker, qualification_type=qualification_type, answers=RIGHT
    )

    services.qualification_type_delete(qualification_type=qualification_type)

    assert state() == ([], [], [])


def test_delete_is_refused_while_a_job_requires_the_type(organization):
    from marketplace.api.serializers import JobSpecInput
    from marketplace.services import jobs

    qualification_type = make_type(organization)
    other = make_type(organization, name="Other", test=None)
    requirement = {"qualification": "Pet expert", "comparator": "exists"}
    for name in ("pets", "dogs"):
        payload = JobSpecInput(
            data=job_spec(
                name=name,
                qualification_requirements=[
                    {"qualification": "approval_rate", "comparator": ">=", "value": 90},
                    requirement,
                ],
            )
        )
        payload.is_valid(raise_exception=True)
        jobs.job_create(
            organization=organization,
            created_by=organization.memberships.get().user,
            spec=payload.validated_data,
        )
    before = state()

    with pytest.raises(ApplicationError) as raised:
        services.qualification_type_delete(qualification_type=qualification_type)

    assert (raised.value.code, raised.value.status) == ("qualification_in_use", 409)
    assert raised.value.message == (
        "The qualification type “Pet expert” is required by 2 labeling jobs (pets, dogs) "
        "and cannot be deleted."
    )
    assert state() == before
    services.qualification_type_delete(qualification_type=other)  # no job requires this one
    assert not QualificationType.objects.filter(pk=other.pk).exists()


# --- grants --------------------------------------------------------------------------------------


def test_grant_by_hand_then_change_the_value(organization, worker):
    qualification_type = make_type(organization)

    grant, created = services.qualification_grant_set(
        qualification_type=qualification_type, worker=worker, value=5
    )
    assert created is True
    assert (grant.value, grant.granted_by_test) == (5, False)

    services.qualification_test_submit(
        worker=worker, qualification_type=qualification_type, answers=RIGHT
    )
    assert QualificationGrant.objects.get().granted_by_test is True

    grant, created = services.qualification_grant_set(
        qualification_type=qualification_type, worker=worker, value=-3
    )
    assert created is False
    assert list(QualificationGrant.objects.values_list("value", "granted_by_test")) == [(-3, False)]


def test_delete_a_grant_keeps_the_attempts(organization, worker):
    qualification_type = make_type(organization)
    services.qualification_test_submit(
        worker=worker, qualification_type=qualification_type, answers=RIGHT
    )

    services.qualification_grant_delete(grant=QualificationGrant.objects.get())

    assert QualificationGrant.objects.count() == 0
    assert QualificationTestAttempt.objects.count() == 1


# --- tests ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("answers", "score", "passed"),
    [(RIGHT, 100, True), (THREE_RIGHT, 75, True), (TWO_RIGHT, 50, False)],
)
def test_a_test_is_scored_at_once(organization, worker, answers, score, passed):
    qualification_type = make_type(organization)

    attempt = services.qualification_test_submit(
        worker=worker, qualification_type=qualification_type, answers=answers
    )

    assert (attempt.score_percent, attempt.passed, attempt.answers) == (score, passed, answers)
    grants = list(QualificationGrant.objects.values_list("worker_id", "value", "granted_by_test"))
    assert grants == ([(worker.pk, score, True)] if passed else [])


def test_the_score_is_rounded_down(organization, worker):
    qualification_type = make_type(
        organization,
        test={"questions": QUESTIONS[:3], "passing_score_percent": 66, "retry_delay_seconds": 0},
    )

    attempt = services.qualification_test_submit(
        worker=worker, qualification_type=qualification_type, answers=["dog", "cat", "cat"]
    )

    assert (attempt.score_percent, attempt.passed) == (66, True)  # 2 of 3 is 66.67%


def test_a_retake_is_refused_before_the_delay_and_nothing_is_stored(organization, worker):
    qualification_type = make_type(organization)
    first = services.qualification_test_submit(
        worker=worker, qualification_type=qualification_type, answers=TWO_RIGHT
    )
    before = state()

    with pytest.raises(services.RetakeTooSoon) as raised:
        services.qualification_test_submit(
            worker=worker, qualification_type=qualification_type, answers=RIGHT
        )

    retake_at = first.submitted_at + timedelta(seconds=3600)
    assert (raised.value.code, raised.value.status, raised.value.retake_at) == (
        "retake_too_soon",
        429,
        retake_at,
    )
    assert raised.value.message == (
        "This test can be taken once every 1 hour. You can take it again at "
        f"{services.iso_utc(retake_at)}."
    )
    assert 3590 <= raised.value.retry_after_seconds <= 3600
    assert state() == before


def test_a_retake_after_the_delay_is_scored(organization, worker):
    qualification_type = make_type(organization)
    services.qualification_test_submit(
        worker=worker, qualification_type=qualification_type, answers=TWO_RIGHT
    )
    age_attempts(worker, 3600)

    attempt = services.qualification_test_submit(
        worker=worker, qualification_type=qualification_type, answers=THREE_RIGHT
    )

    assert (attempt.score_percent, attempt.passed) == (75, True)
    assert QualificationTestAttempt.objects.count() == 2
    assert list(QualificationGrant.objects.values_list("value", flat=True)) == [75]


def test_a_failed_retake_does_not_lower_the_value(organization, worker):
    qualification_type = make_type(organization)
    services.qualification_test_submit(
        worker=worker, qualification_type=qualification_type, answers=RIGHT
    )
    age_attempts(worker, 3600)

    attempt = services.qualification_test_submit(
        worker=worker, qualification_type=qualification_type, answers=TWO_RIGHT
    )

    assert (attempt.score_percent, attempt.passed) == (50, False)
    assert list(QualificationGrant.objects.values_list("value", "granted_by_test")) == [(100, True)]


def test_a_passed_retake_sets_the_value_to_its_score(organization, worker):
    qualification_type = make_type(organization)
    services.qualification_test_submit(
        worker=worker, qualification_type=qualification_type, answers=RIGHT
    )
    age_attempts(worker, 3600)

    services.qualification_test_submit(
        worker=worker, qualification_type=qualification_type, answers=THREE_RIGHT
    )

    assert list(QualificationGrant.objects.values_list("value", flat=True)) == [75]


def test_no_retry_delay_allows_an_immediate_retake(organization, worker):
    qualification_type = make_type(organization, test={**TEST, "retry_delay_seconds": 0})

    for answers in (TWO_RIGHT, RIGHT):
        services.qualification_test_submit(
            worker=worker, qualification_type=qualification_type, answers=answers
        )

    assert QualificationTestAttempt.objects.count() == 2


def test_the_delay_counts_per_worker_and_per_type(organization, worker):
    qualification_type = make_type(organization)
    other_type = make_type(organization, name="Other")
    services.qualification_test_submit(
        worker=worker, qualification_type=qualification_type, answers=RIGHT
    )

    services.qualification_test_submit(worker=worker, qualification_type=other_type, answers=RIGHT)
    services.qualification_test_submit(
        worker=WorkerFactory(), qualification_type=qualification_type, answers=RIGHT
    )

    assert QualificationTestAttempt.objects.count() == 3


@pytest.mark.parametrize(
    ("answers", "field", "message"),
    [
        (RIGHT[:3], "answers", "Give one answer for each of the 4 questions."),
        ([*RIGHT, "dog"], "answers", "Give one answer for each of the 4 questions."),
        (["dog", "cat", "dog", "4"], "answers[2]", "Choose one of the options of question 3."),
        (["dog", "CAT", "fish", "4"], "answers[1]", "Choose one of the options of question 2."),
    ],
)
def test_bad_answers_are_refused_and_nothing_is_stored(
    organization, worker, answers, field, message
):
    qualification_type = make_type(organization)
    before = state()

    with pytest.raises(ApplicationError) as raised:
        services.qualification_test_submit(
            worker=worker, qualification_type=qualification_type, answers=answers
        )

    assert (raised.value.code, raised.value.field, raised.value.message) == (
        "invalid",
        field,
        message,
    )
    assert state() == before


def test_a_type_without_a_test_cannot_be_taken(organization, worker):
    qualification_type = make_type(organization, test=None)

    with pytest.raises(ApplicationError) as raised:
        services.qualification_test_submit(
            worker=worker, qualification_type=qualification_type, answers=[]
        )

    assert (raised.value.code, raised.value.status) == ("no_test", 409)
    assert QualificationTestAttempt.objects.count() == 0


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0, "0 seconds"),
        (1, "1 second"),
        (90, "90 seconds"),
        (60, "1 minute"),
        (3600, "1 hour"),
        (129_600, "36 hours"),
        (86_400, "1 day"),
        (172_800, "2 days"),
    ],
)
def test_duration_text(seconds, text):
    assert services.duration_text(seconds) == text


# --- what a worker sees --------------------------------------------------------------------------


def test_a_worker_sees_every_test_and_the_types_they_hold(organization, worker):
    pets = make_type(organization)
    trusted = make_type(organization, name="Trusted", test=None)
    make_type(organization, name="Hidden", test=None)  # no test, not held: not shown
    elsewhere = make_type(OrganizationFactory(), name="Birds")
    services.qualification_grant_set(qualification_type=trusted, worker=worker, value=3)
    attempt = services.qualification_test_submit(
        worker=worker, qualification_type=pets, answers=TWO_RIGHT
    )

    seen = {
        found.name: (found.value, found.last_attempt_at)
        for found in selectors.qualification_types_for_worker(worker=worker)
    }

    assert seen == {
        "Birds": (None, None),
        "Pet expert": (None, attempt.submitted_at),
        "Trusted": (3, None),
    }
    assert selectors.qualification_type_get_for_test(worker=worker, pk=elsewhere.pk) == elsewhere


def test_retake_at(organization):
    qualification_type = make_type(organization)
    now = timezone.now()

    assert selectors.retake_at(qualification_type=qualification_type, last_attempt_at=None) is None
    assert selectors.retake_at(
        qualification_type=qualification_type, last_attempt_at=now
    ) == now + timedelta(hours=1)
    long_ago = now - timedelta(hours=1)
    assert (
        selectors.retake_at(qualification_type=qualification_type, last_attempt_at=long_ago) is None
    )


def test_system_values_for_a_worker(worker):
    worker.approved_count, worker.rejected_count = 3, 1

    values = [(v.key, v.value, v.unit) for v in selectors.system_values_for(worker=worker)]

    assert values == [
        ("approval_rate", 75, "%"),
        ("approved_count", 3, ""),
        ("gold_accuracy", None, "%"),
    ]
