from __future__ import annotations

from django.urls import path

from sharing import views

app_name = "sharing"

urlpatterns = [
    path("share/<uuid:public_id>/links/", views.create_link, name="create"),
    path("share/links/<int:pk>/withdraw/", views.revoke_link, name="revoke"),
    path("share/<uuid:public_id>/report.pdf", views.report, name="report"),
    path("share/spots/<uuid:public_id>/report.pdf", views.spot_report, name="spot_report"),
    path("share/spots/<uuid:public_id>/links/", views.create_spot_link, name="create_spot"),
    # The doctor's pages: the token is the only key (43 URL-safe characters: a slug).
    path("shared/<slug:token>/", views.shared_diagnosis, name="open"),
    path("shared/<slug:token>/photo/", views.shared_photo, name="photo"),
    path(
        "shared/<slug:token>/photos/<uuid:public_id>/",
        views.shared_spot_photo,
        name="spot_photo",
    ),
]
