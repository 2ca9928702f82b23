"""/healthz for load balancers, and the OpenAPI schema and docs."""

import pytest

pytestmark = pytest.mark.django_db


def test_healthz_is_ok_when_database_broker_and_storage_answer(client):
    # The broker is the local Redis and storage the S3 endpoint with the test bucket
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "checks": {"database": "ok", "broker": "ok", "storage": "ok"},
    }


def test_healthz_is_503_when_the_bucket_is_missing(client, settings):
    settings.S3_BUCKET = "groundwork-no-such-bucket"

    response = client.get("/healthz")

    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert (body["checks"]["database"], body["checks"]["broker"]) == ("ok", "ok")
    assert body["checks"]["storage"].startswith("error")
    assert body["checks"]["storage"] == "error: ClientError"


def test_healthz_answers_get_only(client):
    assert client.post("/healthz").status_code == 405


def test_openapi_schema_describes_the_api(client):
    response = client.get("/api/schema/", {"format": "json"})

    assert response.status_code == 200
    schema = response.json()
    assert schema["info"]["title"] == "Groundwork API"
    assert {"/api/v1/labeling-jobs", "/api/v1/labeling-jobs/{name}", "/api/v1/worker/jobs"} <= set(
        schema["paths"]
    )
    assert set(schema["paths"]["/api/v1/labeling-jobs"]) >= {"get", "post"}


def test_openapi_schema_default_format_is_yaml(client):
    response = client.get("/api/schema/")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.oai.openapi")
    assert b"/api/v1/labeling-jobs:" in response.content


def test_api_docs_page(client):
    response = client.get("/api/docs/")

    assert response.status_code == 200
    assert b"swagger" in response.content.lower()
    assert b"/api/schema/" in response.content
