"""Keep the lookup cache fresh. (Image files go with their rows through django-cleanup.)"""

from __future__ import annotations

from typing import Any

from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from diseases import lookup
from diseases.models import Disease


@receiver(post_save, sender=Disease, dispatch_uid="diseases.invalidate_on_save")
@receiver(post_delete, sender=Disease, dispatch_uid="diseases.invalidate_on_delete")
def _invalidate_lookup(**kwargs: Any) -> None:
    lookup.invalidate()
