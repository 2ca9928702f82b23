"""Qualification pages for workers: their values (system and granted) with the tests they can
take (/work/qualifications/), and a test to take (/work/qualifications/<id>/test/)."""

from functools import wraps

from django import forms
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path

from marketplace.errors import ApplicationError
from workforce.models import QualificationType
from workforce.selectors import accounts as account_selectors
from workforce.selectors import qualifications as selectors
from workforce.services import qualifications as services


def worker_page(view):
    """Signed-in workers only; anyone else signed in is sent to join the crowd first."""

    @login_required
    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        worker = account_selectors.worker_for(user=request.user)
        if worker is None:
            return redirect("worker-join")
        return view(request, *args, worker=worker, **kwargs)

    return wrapper


def _with_retake(qualification_type: QualificationType) -> QualificationType:
    qualification_type.can_retake_at = selectors.retake_at(
        qualification_type=qualification_type,
        last_attempt_at=qualification_type.last_attempt_at,
    )
    qualification_type.retry_delay_text = services.duration_text(
        qualification_type.retry_delay_seconds
    )
    return qualification_type


@worker_page
def qualification_list(request: HttpRequest, *, worker) -> HttpResponse:
    types = [
        _with_retake(found) for found in selectors.qualification_types_for_worker(worker=worker)
    ]
    context = {
        "system_values": selectors.system_values_for(worker=worker),
        "held": [found for found in types if found.value is not None],
        "tests": [found for found in types if found.test_questions],
    }
    return render(request, "workforce/qualifications/list.html", context)


class TestForm(forms.Form):
    """One radio group per question, named q0, q1, …"""

    def __init__(self, *args, questions: list[dict], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        for index, question in enumerate(questions):
            self.fields[f"q{index}"] = forms.ChoiceField(
                label=question["question"],
                choices=[(option, option) for option in question["options"]],
                widget=forms.RadioSelect,
                error_messages={
                    "required": "Choose an answer.",
                    "invalid_choice": "Choose one of the options.",
                },
            )

    def answers(self) -> list[str]:
        return [self.cleaned_data[name] for name in self.fields]


@worker_page
def qualification_test(request: HttpRequest, pk: int, *, worker) -> HttpResponse:
    """The test form; a submission is scored at once and the result shown in its place."""
    qualification_type = _with_retake(
        selectors.qualification_type_get_for_test(worker=worker, pk=pk)
    )
    form = TestForm(request.POST or None, questions=qualification_type.test_questions)
    result, status = None, 200
    if request.method == "POST":
        if not form.is_valid():
            status = 400
        else:
            try:
                result = services.qualification_test_submit(
                    worker=worker, qualification_type=qualification_type, answers=form.answers()
                )
            except ApplicationError as error:  # too soon to retake (429), or the test changed
                form.add_error(None, error.message)
                status = error.status
            else:
                qualification_type = _with_retake(
                    selectors.qualification_type_get_for_test(worker=worker, pk=pk)
                )
    context = {"qualification_type": qualification_type, "form": form, "result": result}
    return render(request, "workforce/qualifications/test.html", context, status=status)


urlpatterns = [
    path("work/qualifications/", qualification_list, name="worker-qualifications"),
    path(
        "work/qualifications/<int:pk>/test/",
        qualification_test,
        name="worker-qualification-test",
    ),
]
