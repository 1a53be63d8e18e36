from __future__ import annotations

from django.urls import path

from spots import views

app_name = "spots"

urlpatterns = [
    path("", views.index, name="index"),
    path("new/", views.create, name="create"),
    path("<uuid:public_id>/", views.detail, name="detail"),
    path("<uuid:public_id>/delete/", views.delete, name="delete"),
    path("<uuid:public_id>/compare/", views.compare, name="compare"),
    path("<uuid:public_id>/reminder/", views.reminder, name="reminder"),
    path("reminder/<str:token>/open/", views.reminder_open, name="reminder_open"),
    path("reminder/<str:token>/stop/", views.reminder_stop, name="reminder_stop"),
]
