"""Property: every non-blank manifest line becomes exactly one data object or one entry of the
error report, never both and never neither.

A manifest with a bad line creates nothing (all or nothing), so each generated manifest is
ingested twice: as it is, which must report exactly the lines parse_input_line refuses, then
with only the lines that were not reported, which must make exactly one object of each.
"""

import itertools
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from marketplace.api.serializers import JobSpecInput
from marketplace.models import Job
from marketplace.services import jobs
from payments.services import ledger as payments
from tasks import storage
from tasks.manifests import ingest
from tasks.manifests.input import InvalidLine, decode_line, is_blank, parse_input_line
from tasks.models import DataObject
from tests.factories import job_spec

pytestmark = pytest.mark.django_db

LABEL = "animal"
_names = itertools.count()

text = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\n\r"), max_size=12
)
extra_keys = st.dictionaries(
    st.sampled_from(["id", "meta", "source-ref-2", f"{LABEL}-x", "class"]),
    st.one_of(st.integers(), text, st.lists(st.integers(), max_size=3)),
    max_size=2,
)
good_lines = st.builds(
    lambda name, ext, extra: json.dumps(
        {"source-ref": f"s3://groundwork-test/img/{name}{ext}", **extra}
    ),
    st.text(alphabet="ab/ü ", min_size=1, max_size=6),
    st.sampled_from([".jpg", ".JPEG", ".png"]),
    extra_keys,
)
bad_json_lines = st.one_of(
    text,  # mostly not JSON, sometimes blank
    st.builds(json.dumps, st.one_of(st.integers(), st.lists(st.integers(), max_size=2), text)),
    st.builds(
        lambda ref: json.dumps({"source-ref": ref}),
        st.one_of(text, st.integers(), st.just("s3://groundwork-test/a.gif")),
    ),
    st.builds(lambda source: json.dumps({"source": source}), text),
    st.builds(
        lambda extra: json.dumps({"source-ref": "s3://groundwork-test/a.png", LABEL: extra}),
        st.integers(),
    ),
    st.just(json.dumps({"source-ref": "s3://groundwork-test/a.png", "source": "both"})),
    st.just('{"source-ref": "s3://groundwork-test/a.png", "pad": "' + "x" * 100_000 + '"}'),
)
lines = st.one_of(
    good_lines.map(str.encode),
    bad_json_lines.map(str.encode),
    st.binary(max_size=8).filter(lambda raw: b"\n" not in raw and b"\r" not in raw),
)


def refused(raw: bytes) -> bool:
    try:
        parse_input_line(
            decode_line(raw), task_type="image_classification", label_attribute_name=LABEL
        )
    except InvalidLine:
        return True
    return False


def ingest_lines(organization, raws: list[bytes]) -> Job:
    name = f"prop-{next(_names)}"
    uri = f"s3://groundwork-test/input/{name}.manifest"
    storage.write(uri, [b"\n".join(raws) + b"\n"])
    payload = JobSpecInput(
        data=job_spec(name=name, label_attribute_name=LABEL, input_manifest_uri=uri)
    )
    payload.is_valid(raise_exception=True)
    job = jobs.job_create(
        organization=organization,
        created_by=organization.memberships.get().user,
        spec=payload.validated_data,
    )
    return ingest.manifest_ingest(job_id=job.pk)


def carried(raw: bytes) -> bool:
    """Already labeled under the job's attribute: kept as an object, not to be labeled."""
    record = parse_input_line(
        decode_line(raw), task_type="image_classification", label_attribute_name=LABEL
    )
    return record.carried


def reported(job: Job) -> list[int]:
    if not job.failure_report_uri:
        return []
    report = storage.read_bytes(job.failure_report_uri).decode().splitlines()
    return [json.loads(entry)["line"] for entry in report]


def objects(job: Job) -> list[str]:
    return list(
        DataObject.objects.filter(job=job).order_by("position").values_list("input_line", flat=True)
    )


@pytest.fixture
def funded(organization):
    payments.funding_record(
        owner=organization.ledger_owner, amount_mills=100_000_000, reference="f"
    )
    return organization


@settings(
    max_examples=40,
    deadline=None,
    database=None,  # no .hypothesis folder in the work tree
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(raws=st.lists(lines, min_size=1, max_size=8))
def test_every_line_becomes_one_object_or_one_report_entry(funded, raws):
    numbered = [(n, raw) for n, raw in enumerate(raws, start=1) if not is_blank(raw)]

    first = ingest_lines(funded, raws)
    bad = reported(first)

    assert bad == [n for n, raw in numbered if refused(raw)]  # each bad line once, in order
    if bad:
        assert first.status == Job.Status.FAILED
        assert objects(first) == []  # all or nothing
    kept = [raw for n, raw in numbered if n not in bad]
    second = ingest_lines(funded, kept) if bad and kept else first
    if kept and not all(carried(raw) for raw in kept):
        assert second.status == Job.Status.IN_PROGRESS, second.failure_reason
        assert objects(second) == [raw.decode() for raw in kept]  # one object each, in order
        assert reported(second) == []
    else:  # nothing valid, or every valid line already labeled: nothing to do
        assert second.status == Job.Status.FAILED
        assert objects(second) == []
