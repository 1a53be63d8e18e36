"""A deleted diagnosis takes its photo and thumbnail with it, whatever deleted it.

The service functions, the purge, the admin and the cascade from a deleted account all delete
rows through Django's collector, which sends ``post_delete`` for each one; the files go once
the deletion is committed (a rolled-back deletion keeps them).
"""

from __future__ import annotations

from functools import partial
from typing import Any

from django.db import transaction
from django.db.models.signals import post_delete
from django.dispatch import receiver

from diagnosis.models import Diagnosis


@receiver(post_delete, sender=Diagnosis, dispatch_uid="diagnosis-delete-files")
def delete_files_with_the_row(sender: type[Diagnosis], instance: Diagnosis, **kwargs: Any) -> None:
    from diagnosis.services import delete_stored_files

    names = [instance.image.name, instance.thumbnail.name]
    transaction.on_commit(partial(delete_stored_files, names), using=kwargs.get("using"))
