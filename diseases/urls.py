from __future__ import annotations

from django.urls import path

from diseases import views

app_name = "diseases"
urlpatterns = [
    path("", views.DiseaseListView.as_view(), name="list"),
    path("images/<int:pk>/", views.disease_image, name="image"),
    path("<slug:slug>/", views.DiseaseDetailView.as_view(), name="detail"),
]
