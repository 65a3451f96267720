from django.urls import path

from . import views

urlpatterns = [
    path("captures/<int:pk>/<str:role>", views.capture_file, name="capture-file"),
    path("edit/sources/from-link/", views.source_from_link, name="source-from-link"),
    path(
        "edit/sources/<int:pk>/captures/<int:capture_pk>/confirm/",
        views.source_confirm,
        name="source-confirm",
    ),
    path("edit/sources/<int:pk>/capture/", views.capture_again, name="source-capture"),
]
