"""The tasks app's writes, by area: `queue` (claim, submit, leases), `labeling` (consolidation,
availability lifetimes and finishing jobs), `review` (approval, rejection, payment), `skills`
(worker skill estimated by Dawid-Skene across an organisation's jobs), `gold` (gold tasks:
their objects, and scoring a worker's gold answers)."""

from tasks.services.labeling import (  # noqa: F401
    consolidation_runs_overdue,
    data_object_consolidate,
    data_object_consolidation_fail,
    data_object_expire,
    data_objects_consolidate,
    data_objects_expire,
    job_finalize,
    job_stop_finalize,
)
from tasks.services.queue import (  # noqa: F401
    assignment_claim,
    assignment_decline,
    assignment_release,
    assignment_submit,
    assignment_submit_and_claim_next,
    assignments_expire,
    data_objects_admit,
)
from tasks.services.review import (  # noqa: F401
    assignment_approve,
    assignment_bonus,
    assignment_reject,
    assignments_auto_approve,
)
from tasks.services.settlement import (  # noqa: F401
    job_escrow_settle,
    jobs_escrow_settle_due,
)
from tasks.services.skills import (  # noqa: F401
    organizations_due_for_skills,
    worker_skills_estimate,
    worker_skills_estimate_due,
)
