"""A moment plus a per-row number of seconds, compared with now without interval arithmetic."""

from datetime import timedelta

import pytest
from django.utils import timezone

from marketplace.models import Job
from tasks import deadlines
from tests.factories import job_in_progress

pytestmark = pytest.mark.django_db


def test_each_row_is_compared_with_its_own_number_of_seconds(organization):
    now = timezone.now()
    short = job_in_progress(organization, name="short", task_availability_lifetime_seconds=600)
    long = job_in_progress(organization, name="long", task_availability_lifetime_seconds=7200)
    Job.objects.filter(pk__in=[short.pk, long.pk]).update(started_at=now - timedelta(hours=1))
    values = Job.objects.values_list("task_availability_lifetime_seconds", flat=True)

    def names(*, passed: bool) -> set[str]:
        condition = deadlines.deadline_condition(
            start="started_at",
            seconds="task_availability_lifetime_seconds",
            values=values,
            now=now,
            passed=passed,
        )
        return set(Job.objects.filter(condition).values_list("name", flat=True))

    assert names(passed=True) == {"short"}  # an hour is past its 10 minutes
    assert names(passed=False) == {"long"}  # and within the other's 2 hours


def test_no_values_matches_nothing():
    condition = deadlines.deadline_condition(
        start="started_at", seconds="task_availability_lifetime_seconds", values=[],
        now=timezone.now(), passed=True,
    )  # fmt: skip

    assert not Job.objects.filter(condition).exists()
