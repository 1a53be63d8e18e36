from __future__ import annotations

from django.contrib import admin
from django.urls import include, path

from skinsite import views

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("favicon.ico", views.favicon, name="favicon"),
    path("", include("skinsite.pwa.urls")),
    path("accounts/", include("accounts.urls")),
    path("accounts/", include("allauth.urls")),
    path("diseases/", include("diseases.urls")),
    path("diagnosis/", include("diagnosis.urls")),
    path("spots/", include("spots.urls")),
    path("", include("sharing.urls")),
    path("admin/", admin.site.urls),
]

handler500 = "skinsite.views.server_error"
