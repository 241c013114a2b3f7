from django.contrib import admin, messages

from access.models import ApiKey


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    list_display = ["name", "active", "created", "last_used"]
    fields = ["name", "active"]

    def save_model(self, request, obj, form, change):
        if not change:
            key = obj.set_new_key()
            self.message_user(
                request,
                f"API key for {obj.name}, shown only now: {key}",
                messages.WARNING,
            )
        super().save_model(request, obj, form, change)
