"""Checking a worker's answer against the job's task type and labels (Ground Truth shapes).

Each classification task type answers with its crowd element, as Ground Truth's `answerContent`:
`{"crowd-image-classifier": {"label": "dog"}}` or, for several labels,
`{"crowd-image-classifier-multi-select": {"labels": ["dog", "cat"]}}`.
A custom task answers with whatever its template's form holds: any JSON object, stored as given.
"""

import json
from typing import Any

from marketplace.errors import ApplicationError
from marketplace.models import Job

TaskType = Job.TaskType

CLASSIFIER_ELEMENT = {
    TaskType.IMAGE_CLASSIFICATION: "crowd-image-classifier",
    TaskType.IMAGE_CLASSIFICATION_MULTILABEL: "crowd-image-classifier-multi-select",
    TaskType.TEXT_CLASSIFICATION: "crowd-classifier",
    TaskType.TEXT_CLASSIFICATION_MULTILABEL: "crowd-classifier-multi-select",
}
MAX_CUSTOM_ANSWER_CHARS = 100_000
MULTILABEL_TASK_TYPES = frozenset(
    {TaskType.IMAGE_CLASSIFICATION_MULTILABEL, TaskType.TEXT_CLASSIFICATION_MULTILABEL}
)


def is_multilabel(task_type: str) -> bool:
    return task_type in MULTILABEL_TASK_TYPES


def answer_validate(*, job: Job, answer: Any) -> dict:
    """Return the answer if it fits the job, or raise ApplicationError naming the bad field."""
    if job.task_type == TaskType.CUSTOM:
        return custom_answer_validate(answer=answer)
    element = CLASSIFIER_ELEMENT[job.task_type]
    multilabel = is_multilabel(job.task_type)
    key = "labels" if multilabel else "label"
    if not isinstance(answer, dict) or set(answer) != {element}:
        raise ApplicationError(
            "invalid_answer",
            f'The answer must be {{"{element}": {{"{key}": ...}}}}.',
            field="non_field_errors",
        )
    content = answer[element]
    if not isinstance(content, dict) or key not in content:
        raise ApplicationError(
            "invalid_answer",
            "Give the chosen labels as a list of strings."
            if multilabel
            else "Give the chosen label as a string.",
            field=f"{element}.{key}",
        )
    if multilabel:
        return {
            element: {
                "labels": _labels_validate(
                    job=job, field=f"{element}.labels", value=content["labels"]
                )
            }
        }
    return {
        element: {
            "label": _label_validate(job=job, field=f"{element}.label", value=content["label"])
        }
    }


def custom_answer_validate(*, answer: Any) -> dict:
    """A custom task's answer (Ground Truth's answerContent): a JSON object of at most
    MAX_CUSTOM_ANSWER_CHARS characters encoded."""
    if not isinstance(answer, dict):
        raise ApplicationError(
            "invalid_answer", "The answer must be a JSON object.", field="non_field_errors"
        )
    try:
        encoded = json.dumps(answer, ensure_ascii=False, allow_nan=False)
    except ValueError:
        raise ApplicationError(
            "invalid_answer", "The answer must be plain JSON.", field="non_field_errors"
        ) from None
    if len(encoded) > MAX_CUSTOM_ANSWER_CHARS:
        raise ApplicationError(
            "invalid_answer",
            f"The answer is longer than {MAX_CUSTOM_ANSWER_CHARS:,} characters as JSON.",
            field="non_field_errors",
        )
    return answer


def _label_validate(*, job: Job, field: str, value: Any) -> str:
    if not isinstance(value, str):
        raise ApplicationError("invalid_answer", "Give the chosen label as a string.", field=field)
    if value not in job.labels:
        raise ApplicationError(
            "invalid_answer", f"'{value}' is not one of the job's labels.", field=field
        )
    return value


def _labels_validate(*, job: Job, field: str, value: Any) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(label, str) for label in value):
        raise ApplicationError(
            "invalid_answer", "Give the chosen labels as a list of strings.", field=field
        )
    if not value:
        raise ApplicationError("invalid_answer", "Choose at least one label.", field=field)
    unknown = [label for label in value if label not in job.labels]
    if unknown:
        names = ", ".join(f"'{label}'" for label in unknown)
        raise ApplicationError(
            "invalid_answer",
            f"{names} is not one of the job's labels."
            if len(unknown) == 1
            else f"{names} are not among the job's labels.",
            field=field,
        )
    repeated = sorted({label for label in value if value.count(label) > 1}, key=value.index)
    if repeated:
        names = ", ".join(f"'{label}'" for label in repeated)
        raise ApplicationError("invalid_answer", f"{names} chosen more than once.", field=field)
    return list(value)


def answer_label(*, job: Job, answer: dict) -> str:
    """The label a single-label answer chose."""
    return answer[CLASSIFIER_ELEMENT[job.task_type]]["label"]


def answer_labels(*, job: Job, answer: dict) -> list[str]:
    """The labels a multi-label answer chose."""
    return answer[CLASSIFIER_ELEMENT[job.task_type]]["labels"]
