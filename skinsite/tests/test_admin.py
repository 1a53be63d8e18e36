"""The admin as an operator meets it: one section per app, Arabic fields right-to-left, an icon."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib import admin
from django.contrib.admin.options import InlineModelAdmin
from django.contrib.staticfiles import finders
from django.test import Client, RequestFactory
from modeltranslation.translator import translator
from PIL import Image


@pytest.fixture
def superuser(user_factory: Any) -> Any:
    return user_factory(is_staff=True, is_superuser=True)


def test_every_admin_section_has_its_own_name(client: Client, superuser: Any) -> None:
    client.force_login(superuser)
    for language in ("en", "ar"):
        response = client.get("/admin/", headers={"accept-language": language})
        names = [str(app["name"]) for app in response.context["app_list"]]
        assert len(names) == len(set(names)), names


def test_every_translated_models_arabic_fields_are_right_to_left(superuser: Any) -> None:
    request = RequestFactory().get("/admin/")
    request.user = superuser
    checked = 0
    for model in translator.get_registered_models(abstract=False):
        model_admin = admin.site._registry.get(model)
        admins = [model_admin] if model_admin else []
        for parent in admin.site._registry.values():
            admins += [i for i in parent.get_inline_instances(request) if i.model is model]
        assert admins, f"{model.__name__} is translated but has no admin"
        for model_admin in admins:
            if isinstance(model_admin, InlineModelAdmin):
                form = model_admin.get_formset(request).form
            else:
                form = model_admin.get_form(request)
            for field in translator.get_options_for_model(model).get_field_names():
                attrs = form.base_fields[f"{field}_ar"].widget.attrs
                assert (attrs.get("dir"), attrs.get("lang")) == ("rtl", "ar"), (model, field)
                english = form.base_fields[f"{field}_en"].widget.attrs
                assert (english.get("dir"), english.get("lang")) == ("ltr", "en"), (model, field)
                checked += 1
    assert checked > 0


def test_favicon_ico_leads_to_a_real_icon(client: Client) -> None:
    response = client.get("/favicon.ico")
    assert response.status_code == 302
    assert response["Location"].endswith("/img/favicon.ico")
    path = finders.find("img/favicon.ico")
    assert path
    with Image.open(path) as icon:
        assert icon.format == "ICO"
        assert (32, 32) in icon.info["sizes"]
