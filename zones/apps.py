from django.apps import AppConfig


class ZonesConfig(AppConfig):
    name = "zones"

    def ready(self) -> None:
        from zones import signals  # noqa: F401
