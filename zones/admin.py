from django.contrib import admin

from zones.models import Zone


@admin.register(Zone)
class ZoneAdmin(admin.ModelAdmin):
    list_display = ["name", "camera", "capacity", "active", "updated"]
    list_filter = ["active", "camera"]
    search_fields = ["name", "camera__id"]
