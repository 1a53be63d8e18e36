from __future__ import annotations

from django.urls import path

from accounts import views

app_name = "accounts"

urlpatterns = [
    path("language/", views.set_language, name="set_language"),
    path("theme/", views.set_theme, name="set_theme"),
    path("time-zone/", views.set_time_zone, name="set_time_zone"),
    path("privacy/", views.privacy_page, name="privacy"),
    path("privacy/export/", views.export_data, name="export"),
    path("privacy/delete/", views.delete_account, name="delete"),
]
