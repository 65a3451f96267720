from django.urls import path

from . import editor, listing, review, views

urlpatterns = [
    path("", views.home, name="home"),
    path("favicon.ico", listing.favicon, name="favicon"),
    path("entities/", listing.entity_list, name="entities"),
    path("sources/", listing.source_list, name="sources"),
    path("entities/<slug:slug>/watch/", listing.watch_entity, name="entity-watch"),
    path("entities/<slug:slug>/", views.entity_page, name="entity"),
    path("entities/<slug:slug>/map.svg", views.entity_map, name="entity-map"),
    path("ties/<int:pk>/", views.tie_page, name="tie"),
    path("sources/<int:pk>/", views.source_page, name="source"),
    path("sources/<int:pk>/archive/<str:sha256>", views.source_archive, name="source-archive"),
    path("edit/entities/new/", editor.entity_edit, name="entity-new"),
    path("edit/entities/<slug:slug>/", editor.entity_edit, name="entity-edit"),
    path("edit/sources/new/", editor.source_edit, name="source-new"),
    path("edit/sources/search/", editor.source_search, name="source-search"),
    path("edit/sources/<int:pk>/", editor.source_edit, name="source-edit"),
    path(
        "edit/sources/<int:pk>/archive/", editor.source_archive_upload, name="source-archive-upload"
    ),
    path("edit/ties/new/", editor.tie_new, name="tie-new"),
    path("edit/ties/check/", editor.tie_check, name="tie-check"),
    path("edit/ties/<int:pk>/", editor.tie_edit, name="tie-edit"),
    path("edit/ties/<int:pk>/cite/", editor.tie_cite, name="tie-cite"),
    path("edit/review/", review.review_page, name="review"),
    path("edit/review/<int:pk>/decide/", review.review_decide, name="review-decide"),
    path("edit/review/merges/<int:pk>/undo/", review.merge_undo, name="merge-undo"),
]
