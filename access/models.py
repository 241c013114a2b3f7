import secrets

from django.db import models

from devices.models import hash_token


class ApiKey(models.Model):
    """A key that lets a client read the API when keys are required.

    Only its digest is stored; the key is shown once when it is made.
    """

    name = models.CharField(max_length=100, help_text="Who or what uses it.")
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    active = models.BooleanField(default=True)
    created = models.DateTimeField(auto_now_add=True)
    last_used = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        verbose_name = "API key"
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def set_new_key(self) -> str:
        key = secrets.token_urlsafe(32)
        self.key_hash = hash_token(key)
        return key
