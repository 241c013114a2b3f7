from django.urls import path

from devices import views

# Routes under /api/v1/.
urlpatterns = [
    path(
        "control-images/",
        views.ControlImageUploadView.as_view(),
        name="control-image-upload",
    ),
    path("devices/register", views.RegisterView.as_view(), name="device-register"),
    path("devices/heartbeat", views.HeartbeatView.as_view(), name="device-heartbeat"),
    path("devices/config", views.DeviceConfigView.as_view(), name="device-config"),
    path("cameras/capture", views.CameraCaptureView.as_view(), name="cameras-capture"),
    path("cameras/config", views.CameraConfigView.as_view(), name="cameras-config"),
]
