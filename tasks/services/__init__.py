"""The tasks app's writes, by area: `queue` (claim, submit, leases), `labeling` (consolidation
and finishing jobs), `review` (approval, rejection, payment)."""

from tasks.services.labeling import (  # noqa: F401
    data_object_consolidate,
    data_object_consolidation_fail,
    job_finalize,
    job_stop_finalize,
)
from tasks.services.queue import (  # noqa: F401
    assignment_claim,
    assignment_submit,
    assignments_expire,
)
from tasks.services.review import (  # noqa: F401
    assignment_approve,
    assignment_reject,
    assignments_auto_approve,
)
