"""Views of the site itself, outside any app."""

from django.http import HttpRequest, JsonResponse
from django.views.decorators.http import require_safe


@require_safe
def health(request: HttpRequest) -> JsonResponse:
    """Liveness for load balancers: the process answers requests.

    Nothing else is checked, the database least of all: a probe that
    failed with the database would have every server taken out of
    service at once, while restarting them mends nothing.
    """
    return JsonResponse({"status": "ok"})
