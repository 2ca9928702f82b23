"""Qualification requirements (MTurk-style) and how a worker's values meet them.

A requirement is stored as {"qualification": "system:<name>" | "type:<id>", "comparator": ...,
"value": int} or, for "in", {"values": [int, ...]}; "exists" takes no value.
"""

from workforce.models import QualificationGrant, Worker

SYSTEM = {
    "approval_rate": "Percent of reviewed assignments that were approved (100 before any review).",
    "approved_count": "Number of approved assignments.",
    "gold_accuracy": "Percent of gold tasks answered correctly (absent before any gold task).",
}
COMPARATORS = (">=", "<=", "==", "exists", "in")
MAX_REQUIREMENTS = 10


def system_values(worker: Worker) -> dict[str, int]:
    reviewed = worker.approved_count + worker.rejected_count
    values = {
        "system:approval_rate": 100 * worker.approved_count // reviewed if reviewed else 100,
        "system:approved_count": worker.approved_count,
    }
    if worker.gold_answered_count:
        values["system:gold_accuracy"] = (
            100 * worker.gold_correct_count // worker.gold_answered_count
        )
    return values


def worker_values(worker: Worker) -> dict[str, int]:
    """Every qualification value the worker holds, keyed as requirements name them."""
    values = system_values(worker)
    for type_id, value in QualificationGrant.objects.filter(worker=worker).values_list(
        "qualification_type_id", "value"
    ):
        values[f"type:{type_id}"] = value
    return values


def requirement_met(requirement: dict, values: dict[str, int]) -> bool:
    held = values.get(requirement["qualification"])
    comparator = requirement["comparator"]
    if comparator == "exists":
        return held is not None
    if held is None:
        return False
    if comparator == "in":
        return held in requirement["values"]
    target = requirement["value"]
    return {">=": held >= target, "<=": held <= target, "==": held == target}[comparator]


def requirements_met(requirements: list[dict], values: dict[str, int]) -> bool:
    return all(requirement_met(requirement, values) for requirement in requirements)
