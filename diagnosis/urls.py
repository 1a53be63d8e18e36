from __future__ import annotations

from django.urls import path

from diagnosis import push_views, views

app_name = "diagnosis"

urlpatterns = [
    path("", views.upload, name="upload"),
    path("camera/", views.camera, name="camera"),
    path("history/", views.history, name="history"),
    path("history/delete-all/", views.delete_all, name="delete_all"),
    path("<uuid:public_id>/", views.detail, name="detail"),
    path("<uuid:public_id>/status/", views.status, name="status"),
    path("<uuid:public_id>/wait/", push_views.wait, name="wait"),
    path("<uuid:public_id>/image/", views.image, name="image"),
    path("<uuid:public_id>/thumbnail/", views.thumbnail, name="thumbnail"),
    path("<uuid:public_id>/delete/", views.delete, name="delete"),
    path("<uuid:public_id>/retry/", views.retry, name="retry"),
]
