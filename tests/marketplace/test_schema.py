from io import StringIO

from django.core.management import call_command


def test_the_openapi_schema_builds_without_a_warning_and_validates(tmp_path):
    # --fail-on-warn turns every drf-spectacular warning (an unresolvable field, a view whose
    # queryset fails without a request, an enum name collision) into an error.
    out = tmp_path / "schema.yml"
    call_command(
        "spectacular", "--file", str(out), "--validate", "--fail-on-warn", stderr=StringIO()
    )

    text = out.read_text()
    assert "/api/v1/labeling-jobs:" in text
    assert "ApiKey:" in text  # the security scheme of API keys
