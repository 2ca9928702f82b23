"""Checking a worker's answer against the job's task type and labels (Ground Truth shapes)."""

from typing import Any

from marketplace.errors import ApplicationError
from marketplace.models import Job

CLASSIFIER_ELEMENT = {Job.TaskType.IMAGE_CLASSIFICATION: "crowd-image-classifier"}


def answer_validate(*, job: Job, answer: Any) -> dict:
    """Return the answer if it fits the job, or raise ApplicationError naming the bad field."""
    element = CLASSIFIER_ELEMENT[job.task_type]
    field = element
    if not isinstance(answer, dict) or set(answer) != {element}:
        raise ApplicationError(
            "invalid_answer",
            f'The answer must be {{"{element}": {{"label": ...}}}}.',
            field="non_field_errors",
        )
    content = answer[element]
    if not isinstance(content, dict) or not isinstance(content.get("label"), str):
        raise ApplicationError(
            "invalid_answer", "Give the chosen label as a string.", field=f"{field}.label"
        )
    if content["label"] not in job.labels:
        raise ApplicationError(
            "invalid_answer",
            f"'{content['label']}' is not one of the job's labels.",
            field=f"{field}.label",
        )
    return {element: {"label": content["label"]}}


def answer_label(*, job: Job, answer: dict) -> str:
    return answer[CLASSIFIER_ELEMENT[job.task_type]]["label"]
