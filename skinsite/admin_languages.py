"""Admin text boxes of translated fields are written in their own language's direction."""

from __future__ import annotations

from typing import Any

from django.db.models import Field
from django.http import HttpRequest
from django.utils.translation import get_language_info


class LanguageDirectionMixin:
    """Puts ``lang`` and ``dir`` on every modeltranslation field's widget (``name_ar``: rtl).

    Without them an Arabic text box is left-to-right: full stops and bullets land on the wrong
    side while the curator types, and the browser spell-checks it as English. Mix it in before
    modeltranslation's ``TranslationAdmin`` or inline classes.
    """

    def formfield_for_dbfield(
        self, db_field: Field[Any, Any], request: HttpRequest, **kwargs: Any
    ) -> Any:
        field = super().formfield_for_dbfield(db_field, request, **kwargs)  # type: ignore[misc]
        # modeltranslation's per-language fields carry their language; plain fields do not.
        language = getattr(db_field, "language", None)
        if field is not None and language:
            direction = "rtl" if get_language_info(language)["bidi"] else "ltr"
            field.widget.attrs.update({"lang": language, "dir": direction})
        return field
