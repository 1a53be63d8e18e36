"""Keep the lookup cache fresh, and remove image files whose rows are gone."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from diseases import lookup
from diseases.models import Disease, DiseaseImage


@receiver(post_save, sender=Disease, dispatch_uid="diseases.invalidate_on_save")
@receiver(post_delete, sender=Disease, dispatch_uid="diseases.invalidate_on_delete")
def _invalidate_lookup(**kwargs: Any) -> None:
    lookup.invalidate()


@receiver(post_delete, sender=DiseaseImage, dispatch_uid="diseases.delete_image_file")
def _delete_image_file(instance: DiseaseImage, **kwargs: Any) -> None:
    if instance.image:
        storage, name = instance.image.storage, instance.image.name
        # After commit: a rolled-back delete must not lose the file.
        transaction.on_commit(lambda: storage.delete(name))


@receiver(post_save, sender=DiseaseImage, dispatch_uid="diseases.delete_replaced_image_file")
def _delete_replaced_image_file(instance: DiseaseImage, created: bool, **kwargs: Any) -> None:
    previous = getattr(instance, "_stored_image_name", None)
    current = instance.image.name if instance.image else ""
    if not created and previous and previous != current:
        storage = instance.image.storage
        transaction.on_commit(lambda: storage.delete(previous))
    instance._stored_image_name = current
