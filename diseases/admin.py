"""Catalogue curation in the Django admin: language tabs, inline links and images, publishing.

Members of the ``Curators`` group (created by migration 0002) can add, change, view and delete
diseases, their reference links and their images, and nothing else; they also need
``is_staff`` to log in to the admin.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db import models
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from modeltranslation.admin import (
    TranslationAdmin,
    TranslationStackedInline,
    TranslationTabularInline,
)

from diseases.forms import EnglishFirstForm
from diseases.models import Disease, DiseaseImage, DiseaseReference
from skinsite.admin_languages import LanguageDirectionMixin

# modeltranslation's own tabbed admin loads jQuery UI from a CDN, which the site's
# Content-Security-Policy forbids; the tabs widget is vendored instead (MIT, see its LICENSE).
TAB_MEDIA_JS = (
    "admin/js/jquery.init.js",
    "modeltranslation/js/force_jquery.js",
    "diseases/vendor/jquery-ui/jquery-ui-tabs.js",
    "modeltranslation/js/tabbed_translation_fields.js",
)
TAB_MEDIA_CSS = {
    "all": ("modeltranslation/css/tabbed_translation_fields.css", "diseases/admin.css"),
}


class DiseaseReferenceInline(LanguageDirectionMixin, TranslationTabularInline):
    model = DiseaseReference
    form = EnglishFirstForm
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    extra = 0
    fields = ("title", "url", "position")


class DiseaseImageInline(LanguageDirectionMixin, TranslationStackedInline):
    model = DiseaseImage
    form = EnglishFirstForm
    extra = 0
    fields = ("preview", "image", "alt_text", "caption", "credit", "licence", "position")
    readonly_fields = ("preview",)

    @admin.display(description=_("preview"))
    def preview(self, obj: DiseaseImage) -> str:
        if not obj.pk or not obj.image:
            return "—"
        return format_html(
            '<img class="disease-admin-preview" src="{}" alt="{}">',
            obj.get_absolute_url(),
            obj.alt_text,
        )


@admin.register(Disease)
class DiseaseAdmin(LanguageDirectionMixin, TranslationAdmin):
    form = EnglishFirstForm
    list_display = (
        "position",
        "name",
        "class_key",
        "category",
        "urgency",
        "published",
        "last_reviewed",
    )
    list_display_links = ("name",)
    list_filter = ("category", "urgency", "published")
    search_fields = ("class_key", "slug", "name_en", "name_ar", "summary_en", "summary_ar")
    ordering = ("position",)
    actions = ("publish", "unpublish")
    inlines = (DiseaseReferenceInline, DiseaseImageInline)
    prepopulated_fields = {"slug": ("name_en",)}
    view_on_site = True
    fieldsets = (
        (
            None,
            {
                "fields": (
                    "class_key",
                    "slug",
                    "category",
                    "urgency",
                    "published",
                    "last_reviewed",
                )
            },
        ),
        (_("Page"), {"fields": ("name", "summary", "disclaimer")}),
        (_("Sections"), {"fields": Disease.SECTIONS}),
    )

    class Media:
        js = TAB_MEDIA_JS
        css = TAB_MEDIA_CSS

    def formfield_for_dbfield(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        field = super().formfield_for_dbfield(db_field, request, **kwargs)
        if field is not None and db_field.name.startswith(("name_", "summary_")):
            # modeltranslation puts its own classes on the widget: add to them.
            classes = field.widget.attrs.get("class", "")
            field.widget.attrs["class"] = f"{classes} disease-wide-input".strip()
        return field

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        # The class key ties the page to the model's output: fixed once the disease exists.
        readonly = tuple(super().get_readonly_fields(request, obj))
        return (*readonly, "class_key") if obj is not None else readonly

    def get_prepopulated_fields(self, request: HttpRequest, obj: Any = None) -> dict[str, Any]:
        # Changing a published page's address would break links people saved.
        return {} if obj is not None else dict(self.prepopulated_fields)

    @admin.action(description=_("Publish the selected diseases"), permissions=["change"])
    def publish(self, request: HttpRequest, queryset: QuerySet[Disease]) -> None:
        count = self._set_published(request, queryset, published=True)
        self.message_user(
            request,
            ngettext("%(count)d disease published.", "%(count)d diseases published.", count)
            % {"count": count},
            messages.SUCCESS,
        )

    @admin.action(description=_("Unpublish the selected diseases"), permissions=["change"])
    def unpublish(self, request: HttpRequest, queryset: QuerySet[Disease]) -> None:
        count = self._set_published(request, queryset, published=False)
        self.message_user(
            request,
            ngettext("%(count)d disease unpublished.", "%(count)d diseases unpublished.", count)
            % {"count": count},
            messages.SUCCESS,
        )

    def _set_published(
        self, request: HttpRequest, queryset: QuerySet[Disease], *, published: bool
    ) -> int:
        # One save per row (ten at most) so the lookup cache is invalidated by the usual signal
        # and every change appears in the object's history.
        changed = 0
        for disease in queryset.exclude(published=published):
            disease.published = published
            disease.save(update_fields=["published", "updated_at"])
            self.log_change(request, disease, [{"changed": {"fields": ["published"]}}])
            changed += 1
        return changed
