"""Worker pages: /work/qualifications/ (values and tests) and /work/qualifications/<id>/test/."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from tests.factories import OrganizationFactory, UserFactory, WorkerFactory
from tests.workforce.test_qualifications_services import (
    QUESTIONS,
    RIGHT,
    TEST,
    TWO_RIGHT,
    age_attempts,
    make_type,
    state,
)
from workforce.models import QualificationGrant, QualificationTestAttempt
from workforce.services import qualifications as services
from workforce.services import workers

pytestmark = pytest.mark.django_db

LIST = "/work/qualifications/"


def take_url(qualification_type) -> str:
    return f"/work/qualifications/{qualification_type.pk}/test/"


def form_data(answers: list[str]) -> dict[str, str]:
    return {f"q{index}": answer for index, answer in enumerate(answers)}


def text(response) -> str:
    """The page's visible text, whitespace collapsed."""
    html = response.content.decode()
    html = re.sub(r"<(style|script)[^>]*>.*?</\1>", " ", html, flags=re.S)
    html = re.sub(r"</?(strong|em|b|code|time|a)\b[^>]*>", "", html)  # inline: no space
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).strip()


@pytest.fixture
def signed_in(client, worker):
    client.force_login(worker.user)
    return client


@pytest.fixture
def pets(organization):
    return make_type(organization, description="Knows cats from dogs.")


# --- who may see them ----------------------------------------------------------------------------


def test_anonymous_visitors_are_sent_to_sign_in(client, pets):
    for url in (LIST, take_url(pets)):
        for response in (client.get(url), client.post(url, {"q0": "dog"})):
            assert (response.status_code, response.url) == (302, f"/accounts/login/?next={url}")
    assert state()[2] == []


def test_users_without_a_worker_profile_are_sent_to_join(client, pets, requester):
    client.force_login(requester)

    assert client.get(LIST).url == "/work/join"
    assert client.post(take_url(pets), form_data(RIGHT)).url == ("/work/join")
    assert state()[2] == []


# --- the list ------------------------------------------------------------------------------------


def test_the_list_shows_system_values_held_qualifications_and_tests(
    signed_in, worker, organization, pets
):
    trusted = make_type(organization, name="Trusted", description="Vetted by us.", test=None)
    birds = make_type(
        OrganizationFactory(name="Bird Lab"), name="Birds", test={**TEST, "retry_delay_seconds": 0}
    )
    services.qualification_grant_set(qualification_type=trusted, worker=worker, value=3)
    attempt = services.qualification_test_submit(
        worker=worker, qualification_type=pets, answers=TWO_RIGHT
    )
    services.qualification_test_submit(worker=worker, qualification_type=birds, answers=RIGHT)
    for approved in (True, True, True, False):
        workers.worker_record_review(worker=worker, approved=approved)

    response = signed_in.get(LIST)

    assert response.status_code == 200
    page = text(response)
    assert "Approval rate 75% Percent of reviewed assignments" in page
    assert "Approved count 3 Number of approved assignments." in page
    assert "Gold accuracy Not yet known" in page
    held = response.context["held"]
    assert [(found.name, found.value, found.granted_by_test) for found in held] == [
        ("Birds", 100, True),
        ("Trusted", 3, False),
    ]
    assert "Birds Bird Lab Passed the test 100" in page
    assert f"Trusted Vetted by us. {organization.name} Granted 3" in page
    tests = response.context["tests"]
    retake_at = attempt.submitted_at + timedelta(hours=1)
    assert [(found.name, found.can_retake_at) for found in tests] == [
        ("Birds", None),
        ("Pet expert", retake_at),
    ]
    local = timezone.localtime(retake_at)
    assert (
        f"Pet expert Knows cats from dogs. {organization.name} 4 75% 1 hour — "
        f"Retake from {local:%-d %b %Y, %H:%M}" in page
    )
    assert f'href="{take_url(birds)}"' in response.content.decode()  # retake now
    assert f'href="{take_url(pets)}"' not in response.content.decode()


def test_the_list_when_there_is_nothing_yet(signed_in):
    page = text(signed_in.get(LIST))

    assert "No qualifications yet" in page
    assert "No tests to take right now" in page


# --- the test ------------------------------------------------------------------------------------


def test_the_test_form_has_one_radio_group_per_question(signed_in, pets):
    response = signed_in.get(take_url(pets))

    assert response.status_code == 200
    html = response.content.decode()
    for index, question in enumerate(QUESTIONS):
        radios = re.findall(rf'<input type="radio" name="q{index}" value="([^"]*)"', html)
        assert radios == question["options"]
        assert question["question"] in html
    page = text(response)
    assert "score 75% or more to pass" in page
    assert "you wait 1 hour before you can take the test again" in page


def test_passing_the_test_shows_the_score(signed_in, worker, pets):
    response = signed_in.post(take_url(pets), form_data(RIGHT))

    assert response.status_code == 200
    page = text(response)
    assert "You passed Passed 100%" in page
    assert "Your value for “Pet expert” is now 100." in page
    attempt = QualificationTestAttempt.objects.get()
    local = timezone.localtime(attempt.submitted_at + timedelta(hours=1))
    assert (
        f"You can take this test again from {local:%-d %b %Y, %H:%M}" in page
        and "(one attempt every 1 hour)" in page
    )
    assert list(QualificationGrant.objects.values_list("worker", "value")) == [(worker.pk, 100)]


def test_failing_the_test_shows_the_score(signed_in, pets):
    response = signed_in.post(take_url(pets), form_data(TWO_RIGHT))

    assert response.status_code == 200
    page = text(response)
    assert "You did not pass Not passed 50%" in page
    assert "the pass mark is 75%" in page
    assert QualificationGrant.objects.count() == 0


def test_a_missing_answer_is_shown_and_nothing_is_stored(signed_in, pets):
    response = signed_in.post(take_url(pets), {"q0": "dog", "q2": "fish", "q3": "horse"})

    assert response.status_code == 400
    form = response.context["form"]
    assert form.errors == {
        "q1": ["Choose an answer."],
        "q3": ["Choose one of the options."],
    }
    assert state()[1:] == ([], [])


def test_a_retake_before_the_delay_is_refused(signed_in, worker, pets):
    first = services.qualification_test_submit(
        worker=worker, qualification_type=pets, answers=TWO_RIGHT
    )
    before = state()
    local = timezone.localtime(first.submitted_at + timedelta(hours=1))

    page = text(signed_in.get(take_url(pets)))
    assert (
        "It can be taken once every 1 hour: you can take it again from "
        f"{local:%-d %b %Y, %H:%M}" in page
    )
    assert "Submit answers" not in page

    response = signed_in.post(take_url(pets), form_data(RIGHT))

    assert response.status_code == 429
    assert state() == before


def test_a_retake_after_the_delay(signed_in, worker, pets):
    services.qualification_test_submit(worker=worker, qualification_type=pets, answers=RIGHT)
    age_attempts(worker, 3600)

    assert "Submit answers" in text(signed_in.get(take_url(pets)))
    response = signed_in.post(take_url(pets), form_data(TWO_RIGHT))

    assert response.status_code == 200
    assert "Your value stays 100." in text(response)


def test_a_type_without_a_test_has_no_test_page(signed_in, organization):
    trusted = make_type(organization, name="Trusted", test=None)

    assert signed_in.get(take_url(trusted)).status_code == 404
    assert signed_in.post(take_url(trusted), {}).status_code == 404


def test_another_workers_attempts_do_not_count(client, pets):
    services.qualification_test_submit(
        worker=WorkerFactory(), qualification_type=pets, answers=RIGHT
    )
    client.force_login(WorkerFactory(user=UserFactory()).user)

    assert "Submit answers" in text(client.get(take_url(pets)))
