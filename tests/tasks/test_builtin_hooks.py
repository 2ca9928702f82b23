"""The Python hooks that come with Groundwork, called with Ground Truth's event payloads."""

import json

import pytest

from tasks import builtin_hooks, hooks, storage

REQUEST_URI = "s3://groundwork-test/output/job/consolidation-request.json"


def test_pre_annotation_gives_the_object_as_task_object_with_the_other_keys():
    event = {
        "version": "2018-10-16",
        "labelingJobArn": "arn:groundwork:labeling:1:labeling-job/pets",
        "dataObject": {"source-ref": "s3://bucket/cat.png", "taskObject": "x", "size": [3, 4]},
    }

    assert builtin_hooks.pre_annotation(event) == {
        "taskInput": {"taskObject": "s3://bucket/cat.png", "size": [3, 4]},
        "isHumanAnnotationRequired": True,
    }
    assert builtin_hooks.pre_annotation({"dataObject": {"source": "Hello"}}) == {
        "taskInput": {"taskObject": "Hello"},
        "isHumanAnnotationRequired": True,
    }


def test_post_annotation_passes_every_workers_answer_through():
    request = [
        {
            "datasetObjectId": "3",
            "dataObject": {"content": "Hello"},
            "annotations": [
                {"workerId": "worker-1", "annotationData": {"content": '{"a":1}'}},
                {"workerId": "worker-2", "annotationData": {"content": '{"a":2}'}},
            ],
        }
    ]
    storage.write(REQUEST_URI, [json.dumps(request).encode()])

    response = builtin_hooks.post_annotation(
        {
            "version": "2018-10-16",
            "labelingJobArn": "arn:groundwork:labeling:1:labeling-job/pets",
            "labelCategories": ["cat", "dog"],
            "labelAttributeName": "greeting",
            "payload": {"s3Uri": REQUEST_URI},
        }
    )

    assert response == [
        {
            "datasetObjectId": "3",
            "consolidatedAnnotation": {
                "content": {
                    "greeting": {
                        "annotationsFromAllWorkers": [
                            {"workerId": "worker-1", "annotationData": {"content": '{"a":1}'}},
                            {"workerId": "worker-2", "annotationData": {"content": '{"a":2}'}},
                        ]
                    }
                }
            },
        }
    ]


def test_post_annotation_without_its_request_file_may_be_retried():
    with pytest.raises(hooks.HookError) as failed:
        builtin_hooks.post_annotation(
            {"labelAttributeName": "greeting", "payload": {"s3Uri": REQUEST_URI}}
        )

    assert failed.value.retryable
    assert failed.value.message.startswith(
        f"the consolidation request file {REQUEST_URI} cannot be read ("
    )
