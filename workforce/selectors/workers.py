from django.db.models import QuerySet
from django.http import Http404

from workforce.models import Organization, Worker, WorkerBlock, WorkerSkill


def worker_get_by_public_id(*, public_id: str) -> Worker | None:
    """The worker named `worker-<pk>`, the id requesters see in work results."""
    prefix, _, number = public_id.partition("-")
    if prefix != "worker" or not number.isdigit():
        return None
    return Worker.objects.filter(pk=int(number)).first()


def worker_block_list_for(*, organization: Organization) -> QuerySet[WorkerBlock]:
    return (
        WorkerBlock.objects.filter(organization=organization)
        .select_related("worker")
        .order_by("-created_at", "-pk")
    )


def worker_block_get_for(*, organization: Organization, pk: int) -> WorkerBlock:
    block = worker_block_list_for(organization=organization).filter(pk=pk).first()
    if block is None:
        raise Http404("No such block.")
    return block


def worker_skill_list_for(*, organization: Organization) -> QuerySet[WorkerSkill]:
    """The organisation's worker skill rows, most recently estimated first."""
    return (
        WorkerSkill.objects.filter(organization=organization)
        .select_related("worker")
        .order_by("-updated_at", "-pk")
    )


def worker_skills(*, organization_id: int, worker_ids: list[int]) -> dict[int, tuple[float, int]]:
    """The organisation's stored skill of those of the workers it has one for: worker id →
    (accuracy, answers it rests on)."""
    rows = WorkerSkill.objects.filter(
        organization_id=organization_id, worker_id__in=worker_ids
    ).values_list("worker_id", "accuracy", "answers")
    return {worker_id: (accuracy, answers) for worker_id, accuracy, answers in rows}
