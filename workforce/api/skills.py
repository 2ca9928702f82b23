"""Requesters read the skill estimated for the workers on their jobs: `/api/v1/worker-skills`."""

from django.urls import path
from rest_framework import serializers

from marketplace.api_views import ScopedListApi
from workforce.models import WorkerSkill
from workforce.permissions import IsRequester
from workforce.selectors import workers as selectors


class WorkerSkillOutput(serializers.ModelSerializer):
    worker_id = serializers.CharField(
        source="worker.public_id", help_text='As in work results: "worker-12".'
    )
    accuracy = serializers.SerializerMethodField(
        help_text="The share of the worker's answers estimated right, 0 to 1, to 3 places."
    )

    class Meta:
        model = WorkerSkill
        fields = ["worker_id", "accuracy", "answers", "updated_at"]

    def get_accuracy(self, skill: WorkerSkill) -> float:
        return round(skill.accuracy, 3)


class WorkerSkillListApi(ScopedListApi):
    """Each worker's accuracy on the organisation's single-label classification jobs, as
    Dawid-Skene estimates it from the agreement between workers (re-estimated every 15
    minutes when there are new answers)."""

    permission_classes = [IsRequester]
    serializer_class = WorkerSkillOutput
    model = WorkerSkill

    def scoped_queryset(self):
        return selectors.worker_skill_list_for(organization=self.request.organization)


urlpatterns = [
    path("worker-skills", WorkerSkillListApi.as_view(), name="worker-skill-list"),
]
