from django.contrib import admin
from django.urls import include, path

from analytics.views import DashboardView
from pipeline.views import OccupancyView, UploadView

api = [
    path("uploads/", UploadView.as_view(), name="upload"),
    path("occupancy/", OccupancyView.as_view(), name="occupancy"),
    path("", include("devices.urls")),
    path("", include("analytics.urls")),
]

urlpatterns = [
    path("", DashboardView.as_view(), name="dashboard"),
    path("admin/", admin.site.urls),
    path("api/v1/", include(api)),
]
