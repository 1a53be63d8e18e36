from __future__ import annotations

from django.urls import path

from skinsite.pwa import views

app_name = "pwa"

urlpatterns = [
    # At the root: a service worker's scope is at most the folder its script is served from.
    path("sw.js", views.service_worker, name="service_worker"),
    path("manifest/<str:language>.webmanifest", views.manifest, name="manifest"),
    path("offline/", views.offline, name="offline"),
]
