from django import forms
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from workforce.models import Worker
from workforce.selectors import accounts as selectors
from workforce.services import accounts as services


class WorkerJoinForm(forms.Form):
    display_name = forms.CharField(max_length=100, required=False)
    accept_terms = forms.BooleanField(
        label="I accept the worker terms: I label honestly, keep task data confidential, "
        "and understand that work can be rejected with a reason."
    )


@login_required
def worker_join(request: HttpRequest) -> HttpResponse:
    """Join the public crowd by accepting the worker terms."""
    if selectors.worker_for(user=request.user) is not None:
        return redirect("tasks:job-board")
    banned = Worker.objects.filter(user=request.user, banned_at__isnull=False).first()
    if banned is not None:
        return render(request, "workforce/banned.html", {"worker": banned}, status=403)
    form = WorkerJoinForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        services.worker_register(
            user=request.user,
            display_name=form.cleaned_data["display_name"],
            accept_terms=form.cleaned_data["accept_terms"],
        )
        return redirect("tasks:job-board")
    return render(request, "workforce/join.html", {"form": form})
