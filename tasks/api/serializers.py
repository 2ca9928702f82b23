from rest_framework import serializers

from marketplace.models import Job
from tasks import selectors
from tasks.models import Assignment


class JobBoardOutput(serializers.ModelSerializer):
    reward_per_task = serializers.SerializerMethodField(
        help_text="What the platform pays per task; null for team work (private or vendor)."
    )
    tasks_available = serializers.IntegerField(
        help_text="Objects not finished yet, in flight to workers or waiting to be."
    )
    estimated_hourly_rate = serializers.CharField(
        source="estimated_hourly_usd",
        allow_null=True,
        help_text="USD per hour at the median time of the answers given so far; null for team "
        "work and until there are answers.",
    )

    class Meta:
        model = Job
        fields = [
            "id", "title", "description", "keywords", "task_type", "reward_per_task",
            "task_time_limit_seconds", "tasks_available", "estimated_hourly_rate",
        ]  # fmt: skip

    def get_reward_per_task(self, job: Job) -> str | None:
        return job.public_reward_usd


class WorkerAssignmentOutput(serializers.Serializer):
    """What a worker sees of their own assignment: the task input and how to answer it."""

    # Declared one by one rather than read off the model: this is written on every claim and
    # submit.
    id = serializers.IntegerField(read_only=True)
    status = serializers.ChoiceField(choices=Assignment.Status.choices, required=False)
    accepted_at = serializers.DateTimeField()
    expires_at = serializers.DateTimeField()
    submitted_at = serializers.DateTimeField(allow_null=True, required=False)
    job = serializers.SerializerMethodField()
    task_input = serializers.SerializerMethodField()
    answer = serializers.JSONField(allow_null=True, required=False)
    rejection_reason = serializers.CharField(required=False)

    def get_job(self, assignment: Assignment) -> dict:
        job = assignment.job
        return {
            "id": job.id,
            "title": job.title,
            "task_type": job.task_type,
            "labels": job.labels,
            "short_instructions": job.short_instructions,
            "full_instructions": job.full_instructions,
            "good_example": job.good_example,
            "bad_example": job.bad_example,
            "reward_per_task": job.public_reward_usd,
        }

    def get_task_input(self, assignment: Assignment) -> dict | None:
        """The object to label: a text, or an image URL presigned for this lease only; for a
        custom task its task input and the URL of its task page."""
        task_input = selectors.assignment_task_input(assignment=assignment)
        if task_input is None:
            return None
        request = self.context.get("request")
        absolute = request.build_absolute_uri if request else str
        if "taskPageUrl" in task_input:
            return {**task_input, "taskPageUrl": absolute(task_input["taskPageUrl"])}
        if not task_input.pop("taskObjectUrl", False):
            return task_input
        return {"taskObject": absolute(task_input["taskObject"])}


class AssignmentSubmitQuery(serializers.Serializer):
    next = serializers.BooleanField(
        default=False,
        help_text="Also lease the worker's next task in the same job and return both.",
    )


class AssignmentSubmitWithNextOutput(serializers.Serializer):
    submitted = WorkerAssignmentOutput()
    next = WorkerAssignmentOutput(
        allow_null=True, help_text="The next task's lease; null when nothing is left."
    )
