from django.urls import path

from analytics.views import HistoryView

# Routes under /api/v1/.
urlpatterns = [
    path("history/", HistoryView.as_view(), name="history"),
]
