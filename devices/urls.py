from django.urls import path

from devices.views import ControlImageUploadView

# Routes under /api/v1/.
urlpatterns = [
    path(
        "control-images/", ControlImageUploadView.as_view(), name="control-image-upload"
    ),
]
