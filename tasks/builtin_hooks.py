"""The Python hooks that come with Groundwork, allowed by default in
settings.HOOK_ALLOWED_CALLABLES: a job names them as `tasks.builtin_hooks.pre_annotation` and
`tasks.builtin_hooks.post_annotation`.

They take and return the Ground Truth Lambda payloads (see tasks.hooks):
- `pre_annotation` gives the worker the object as `taskObject` (its `source-ref` or `source`)
  with the line's other keys beside it, and asks a person to label every object;
- `post_annotation` is the pass-through consolidation of AWS's custom template samples: each
  object's label is every worker's answer, `{"annotationsFromAllWorkers": [...]}`. Custom jobs
  consolidated `auto` or `majority` are labeled the same way without a hook.
"""

import json
from typing import Any

from tasks import storage
from tasks.hooks import HookError


def pre_annotation(event: dict) -> dict:
    """`{"taskInput": {"taskObject": <source-ref or source>, ...other keys}, ...}`."""
    rest = dict(event["dataObject"])
    source_ref = rest.pop("source-ref", None)
    source = rest.pop("source", None)
    rest.pop("taskObject", None)
    task_object = source_ref if source_ref is not None else source
    return {"taskInput": {"taskObject": task_object, **rest}, "isHumanAnnotationRequired": True}


def post_annotation(event: dict) -> list[dict]:
    """Read the consolidation request file and give every object all its workers' answers."""
    uri = event["payload"]["s3Uri"]
    try:
        raw = storage.read_bytes(uri)
    except storage.StorageErrors as error:
        raise HookError(
            f"the consolidation request file {uri} cannot be read ({error}).", retryable=True
        ) from None
    return annotations_from_all_workers(
        json.loads(raw), label_attribute_name=event["labelAttributeName"]
    )


def annotations_from_all_workers(
    request: list[dict], *, label_attribute_name: str
) -> list[dict[str, Any]]:
    """The consolidation response that labels each object of a consolidation request with
    `{"annotationsFromAllWorkers": [{"workerId", "annotationData": {"content"}}, ...]}`."""
    return [
        {
            "datasetObjectId": item["datasetObjectId"],
            "consolidatedAnnotation": {
                "content": {
                    label_attribute_name: {
                        "annotationsFromAllWorkers": [
                            {
                                "workerId": annotation["workerId"],
                                "annotationData": {
                                    "content": annotation["annotationData"]["content"]
                                },
                            }
                            for annotation in item["annotations"]
                        ]
                    }
                }
            },
        }
        for item in request
    ]
