from django.urls import path

from reports import comment_views, views

app_name = "reports"

urlpatterns = [
    path("", views.home, name="home"),
    path("reports/<slug:slug>/", views.report_detail, name="detail"),
    path("reports/<slug:slug>/comments/", comment_views.comment_post, name="comment_post"),
    path("comments/<int:comment_id>/edit/", comment_views.comment_edit, name="comment_edit"),
    path("comments/<int:comment_id>/delete/", comment_views.comment_delete, name="comment_delete"),
    path("comments/<int:comment_id>/report/", comment_views.comment_flag, name="comment_flag"),
    path(
        "comments/<int:comment_id>/hide/",
        comment_views.comment_moderate,
        {"action": "hide"},
        name="comment_hide",
    ),
    path(
        "comments/<int:comment_id>/unhide/",
        comment_views.comment_moderate,
        {"action": "unhide"},
        name="comment_unhide",
    ),
]
