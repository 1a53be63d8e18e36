"""django-modeltranslation registration: every text field in English and Arabic.

English is the fallback (``MODELTRANSLATION_FALLBACK_LANGUAGES``): an Arabic field left empty
shows the English text instead of nothing.
"""

from __future__ import annotations

from modeltranslation.translator import TranslationOptions, register

from diseases.models import Disease, DiseaseImage, DiseaseReference


@register(Disease)
class DiseaseTranslationOptions(TranslationOptions):
    fields = Disease.TEXT_FIELDS


@register(DiseaseReference)
class DiseaseReferenceTranslationOptions(TranslationOptions):
    fields = DiseaseReference.TEXT_FIELDS


@register(DiseaseImage)
class DiseaseImageTranslationOptions(TranslationOptions):
    fields = DiseaseImage.TEXT_FIELDS
