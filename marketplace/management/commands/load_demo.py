"""Load the demo: a funded requester with an API key, three workers and a public job."""

from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import transaction

from marketplace.api.serializers import JobSpecInput
from marketplace.models import Job
from marketplace.services import jobs
from payments.services import ledger as payments
from tasks import storage
from workforce.models import ApiKey, Organization, Team, TeamMember, User, Vendor, VendorManager
from workforce.services import accounts, teams

IMAGES = Path(__file__).resolve().parents[2] / "demo" / "images"
BUCKET = "groundwork-demo"
PASSWORD = "groundwork-demo"  # noqa: S105 - printed for the demo's users
REQUESTER = "requester@example.com"
WORKERS = ["worker1@example.com", "worker2@example.com", "worker3@example.com"]
ADMIN = "admin@example.com"
JOB_NAME = "fashion-demo"
TEAM_JOB_NAME = "fashion-team"
TEAM_NAME = "Acme Staff"
CUSTOM_JOB_NAME = "fashion-captions"
CUSTOM_TEMPLATE = """<crowd-form>
  <img src="{{ task.input.taskObject | grant_read_access }}" alt="The article" width="168">
  <p>Describe the article in a few words, as a shop would.</p>
  <crowd-input name="caption" label="Caption" required></crowd-input>
  <p>Is the photo good enough for the shop?</p>
  <crowd-radio-group>
    <crowd-radio-button name="good" value="good">Good</crowd-radio-button>
    <crowd-radio-button name="poor" value="poor">Too blurry or cut off</crowd-radio-button>
  </crowd-radio-group>
</crowd-form>"""
VENDOR_SLUG = "north-labeling"
VENDOR_MANAGER = "vendor@example.com"
FINANCE = "finance@example.com"
LABELS = ["Trouser", "Dress", "Sneaker", "Bag"]


def _user(email: str) -> User:
    user = User.objects.filter(email__iexact=email).first()
    return user or accounts.user_create(email=email, password=PASSWORD, email_verified=True)


class Command(BaseCommand):
    help = "Create the demo users, organisation, funds, images and labeling job (idempotent)."

    def handle(self, *args, **options):
        manifest_uri = self._upload_images()
        with transaction.atomic():
            requester = _user(REQUESTER)
            organization = Organization.objects.filter(memberships__user=requester).first()
            if organization is None:
                organization = accounts.organization_create(name="Acme Robotics", owner=requester)
            payments.funding_record(
                owner=organization.ledger_owner, amount_mills=50_000, reference="demo-funding"
            )
            for old_key in ApiKey.objects.filter(user=requester, name="demo"):
                accounts.api_key_revoke(key=old_key)
            _, raw_key = accounts.api_key_create(user=requester, name="demo")
            for email in WORKERS:
                accounts.worker_register(user=_user(email), accept_terms=True)
            admin = _user(ADMIN)
            if not admin.is_superuser:
                admin.is_staff = admin.is_superuser = True
                admin.save(update_fields=["is_staff", "is_superuser"])
            job = Job.objects.filter(organization=organization, name=JOB_NAME).first()
            if job is None:
                job = jobs.job_create(
                    organization=organization,
                    created_by=requester,
                    spec=self._job_spec(manifest_uri),
                )
            self._teams_and_staff(organization=organization, requester=requester)
            if not Job.objects.filter(organization=organization, name=TEAM_JOB_NAME).exists():
                jobs.job_create(
                    organization=organization,
                    created_by=requester,
                    spec=self._job_spec(
                        manifest_uri,
                        name=TEAM_JOB_NAME,
                        workforce=f"private:{TEAM_NAME}",
                        title="Clothing check for the Acme catalogue (staff only)",
                        reward_per_task=None,
                    ),
                )
            if not Job.objects.filter(organization=organization, name=CUSTOM_JOB_NAME).exists():
                jobs.job_create(
                    organization=organization,
                    created_by=requester,
                    spec=self._job_spec(
                        manifest_uri,
                        name=CUSTOM_JOB_NAME,
                        task_type="custom",
                        ui_template=CUSTOM_TEMPLATE,
                        label_attribute_name="caption",
                        label_categories={
                            "document-version": "2018-11-28",
                            "labels": [{"label": "caption"}],
                        },
                        title="Write a shop caption for a clothing photo",
                        description="A custom task: a caption and a verdict on the photo.",
                        keywords=["images", "fashion", "captions"],
                        instructions={"short": "<p>Write what a shopper needs to know.</p>"},
                        reward_per_task="0.030",
                    ),
                )
        self._print(raw_key, job)

    def _teams_and_staff(self, *, organization: Organization, requester: User) -> None:
        """A private team with worker2, a vendor whose crew has worker3, a finance user."""
        team = Team.objects.filter(organization=organization, name__iexact=TEAM_NAME).first()
        team = team or teams.team_create(owner=organization, name=TEAM_NAME)
        # Members normally join through an emailed invitation; the demo seats them directly.
        TeamMember.objects.get_or_create(team=team, worker=_user(WORKERS[1]).worker)
        vendor, _ = Vendor.objects.get_or_create(
            slug=VENDOR_SLUG, defaults={"name": "North Labeling"}
        )
        VendorManager.objects.get_or_create(vendor=vendor, user=_user(VENDOR_MANAGER))
        crew = Team.objects.filter(vendor=vendor).first() or teams.team_create(
            owner=vendor, name="North crew"
        )
        TeamMember.objects.get_or_create(team=crew, worker=_user(WORKERS[2]).worker)
        finance = _user(FINANCE)
        if not finance.is_finance:
            finance.is_finance = True
            finance.save(update_fields=["is_finance"])

    def _upload_images(self) -> str:
        storage.ensure_bucket(settings.S3_BUCKET)
        storage.ensure_bucket(BUCKET)
        lines = []
        for path in sorted(IMAGES.glob("*.png")):
            uri = f"s3://{BUCKET}/fashion/images/{path.name}"
            storage.write(uri, [path.read_bytes()], content_type="image/png")
            lines.append(f'{{"source-ref": "{uri}"}}\n')
        manifest_uri = f"s3://{BUCKET}/fashion/input.manifest"
        storage.write(manifest_uri, ["".join(lines).encode()], content_type="application/jsonl")
        return manifest_uri

    def _job_spec(self, manifest_uri: str, **overrides) -> dict:
        """A demo job, validated exactly as a requester's spec sent to the API."""
        data = {
            "name": JOB_NAME,
            "label_attribute_name": "category",
            "task_type": "image_classification",
            "input_manifest_uri": manifest_uri,
            "output_path": f"s3://{BUCKET}/output/",
            "label_categories": {
                "document-version": "2018-11-28",
                "labels": [{"label": label} for label in LABELS],
            },
            "title": "What kind of clothing is this?",
            "description": "Look at the picture and pick the kind of article it shows.",
            "keywords": ["images", "fashion", "classification"],
            "instructions": {
                "short": "<p>Pick the one label that fits the article best.</p>",
                "full": (
                    "<p><b>Trouser</b>: long legwear. <b>Dress</b>: one-piece garment. "
                    "<b>Sneaker</b>: sports shoe. <b>Bag</b>: handbag or backpack.</p>"
                ),
            },
            "workers_per_object": 1,
            "reward_per_task": "0.020",
        }
        data.update(overrides)
        spec = JobSpecInput(data={k: v for k, v in data.items() if v is not None})
        spec.is_valid(raise_exception=True)
        return spec.validated_data

    def _print(self, raw_key: str, job: Job) -> None:
        where = (
            settings.LOCAL_OBJECT_STORAGE_ROOT / BUCKET / "output" / JOB_NAME
            if settings.OBJECT_STORAGE == "local"
            else job.output_prefix
        )
        self.stdout.write(
            self.style.SUCCESS("\nGroundwork demo is ready at " + settings.SITE_URL)
            + f"""
  Worker logins:    {", ".join(WORKERS)}  (password: {PASSWORD})
  Requester login:  {REQUESTER}  (password: {PASSWORD})
  Requester API key (new on every start): {raw_key}
  Team work:        worker2 is in the private team "{TEAM_NAME}" (job {TEAM_JOB_NAME});
                    worker3 is in the crew of the vendor North Labeling
  Vendor manager:   {VENDOR_MANAGER}  (password: {PASSWORD}; sets up an authenticator app)
  Finance:          {FINANCE}  (password: {PASSWORD}; sets up an authenticator app)
  Admin login:      {ADMIN}  (password: {PASSWORD}) at {settings.SITE_URL}/admin/
  Demo job:         {job.name} ({job.status}); its output manifest appears under {where}
                    {CUSTOM_JOB_NAME} is a custom task (a Liquid template) on the same images
  API docs:         {settings.SITE_URL}/api/docs/
"""
        )
