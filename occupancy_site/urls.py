from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from analytics.views import DashboardView
from occupancy_site.views import health
from pipeline.views import OccupancyView, PresignView, UploadView

api = [
    path("uploads/", UploadView.as_view(), name="upload"),
    path("uploads/presign", PresignView.as_view(), name="upload-presign"),
    path("occupancy/", OccupancyView.as_view(), name="occupancy"),
    path("health", health, name="health"),
    path("", include("devices.urls")),
    path("", include("analytics.urls")),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="docs"),
]

urlpatterns = [
    path("", DashboardView.as_view(), name="dashboard"),
    path("admin/", admin.site.urls),
    path("api/v1/", include(api)),
]
