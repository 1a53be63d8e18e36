"""Everything the site holds about a person: exported as a ZIP, or deleted with the account."""

from __future__ import annotations

import json
import logging
import tempfile
import zipfile
from typing import IO, Any

from django.contrib.auth import logout
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.http import HttpRequest

from accounts.models import User

logger = logging.getLogger(__name__)


def _account_record(user: User) -> dict[str, Any]:
    from allauth.account.models import EmailAddress

    return {
        "email": user.email,
        "date_joined": user.date_joined,
        "last_login": user.last_login,
        "preferred_language": user.preferred_language,
        "theme": user.theme,
        "time_zone": user.time_zone,
        "email_addresses": list(
            EmailAddress.objects.filter(user=user).values("email", "verified", "primary")
        ),
    }


def export_account_data(*, user: User) -> IO[bytes]:
    """A ZIP with ``account.json``, ``diagnoses.json`` and every photo the person uploaded
    (``diagnosis.services.export_diagnoses``: with each photo's spot and what the person
    noticed), ``spots.json``, and ``share_links.json`` (the links made for a doctor, never their
    tokens).

    Returns an open temporary file positioned at the start; large exports spill to disk
    instead of memory.
    """
    from diagnosis.services import export_diagnoses
    from sharing.services import export_records as share_link_records
    from spots.services import export_records as spot_records

    archive = tempfile.SpooledTemporaryFile(max_size=16 * 1024 * 1024)  # noqa: SIM115
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as bundle:
        export_diagnoses(user=user, archive=bundle)
        bundle.writestr(
            "account.json", json.dumps(_account_record(user), cls=DjangoJSONEncoder, indent=2)
        )
        spots = spot_records(user=user)
        bundle.writestr("spots.json", json.dumps(spots, cls=DjangoJSONEncoder, indent=2))
        links = share_link_records(user=user)
        bundle.writestr("share_links.json", json.dumps(links, cls=DjangoJSONEncoder, indent=2))
    archive.seek(0)
    return archive


def delete_account(*, request: HttpRequest, user: User) -> None:
    """Delete the person, then sign them out. Their diagnoses, spots and share links go with
    them (each app's ``on_delete=CASCADE``), and each deleted row's files go once that is
    committed (django-cleanup)."""
    with transaction.atomic():
        deleted, _ = user.delete()
    logout(request)
    logger.info("account deleted with %s rows", deleted)
