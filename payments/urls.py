"""The finance pages, under /finance/."""

from django.urls import path

from payments import views

app_name = "finance"

urlpatterns = [
    path("finance/", views.queue, name="queue"),
    path("finance/payouts/<int:pk>", views.payout_detail, name="payout"),
    path(
        "finance/payouts/<int:pk>/<slug:action>",
        views.payout_action,
        name="payout-action",
    ),
    path("finance/ledger", views.ledger, name="ledger"),
    path("finance/ledger/accounts/<int:pk>", views.ledger_account, name="account"),
    path("finance/reconciliation", views.reconciliation_page, name="reconciliation"),
    path("finance/statements", views.statements_page, name="statements"),
]
