"""`python manage.py consolidate`: consolidate an offline CSV file of answers.

    python manage.py consolidate --task-type classification --answers answers.csv \
        --out labels.csv [--method auto|majority|dawid_skene] [--gold gold.csv]

The file formats and what is refused are described in `tasks.consolidation.files`. The output is
`item,label,confidence`, items in order of first appearance; multi-label jobs write one row per
selected label (an item with none selected: one row with an empty label). Nothing is written
when an input is refused.
"""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from tasks import consolidation
from tasks.consolidation import files

TASK_TYPES = ("classification", "classification_multilabel")


class Command(BaseCommand):
    help = "Consolidate item,worker,label answers into item,label,confidence."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--task-type", required=True, choices=TASK_TYPES)
        parser.add_argument("--answers", required=True, type=Path)
        parser.add_argument("--out", required=True, type=Path)
        parser.add_argument("--method", default="auto", choices=consolidation.METHODS)
        parser.add_argument("--gold", type=Path)

    def handle(self, *args, task_type: str, answers: Path, out: Path, method: str, gold, **options):
        multilabel = task_type == "classification_multilabel"
        try:
            rows = files.answers_read(path=answers, multilabel=multilabel)
        except files.ConsolidationFileError as error:
            raise CommandError(f"{answers}: {error}") from error
        except OSError as error:
            raise CommandError(f"{answers}: {error.strerror}") from error
        known_gold = None
        if gold is not None:
            try:
                known_gold = files.gold_read(
                    path=gold, known_labels=set(rows.labels), multilabel=multilabel
                )
            except files.ConsolidationFileError as error:
                raise CommandError(f"{gold}: {error}") from error
            except OSError as error:
                raise CommandError(f"{gold}: {error.strerror}") from error
        encode = consolidation.selection_arrays if multilabel else consolidation.answer_arrays
        arrays = encode(items=rows.items, workers=rows.workers, labels=rows.labels)
        try:
            if multilabel:
                result = consolidation.consolidate_multilabel(
                    answers=arrays, method=method, gold=known_gold
                )
            else:
                result = consolidation.consolidate(answers=arrays, method=method, gold=known_gold)
        except ValueError as error:
            raise CommandError(str(error)) from error
        try:
            files.labels_write(path=out, rows=result.rows())
        except OSError as error:
            raise CommandError(f"{out}: {error.strerror}") from error
        self.stdout.write(f"{arrays.item_count} items consolidated by {result.method} into {out}")
