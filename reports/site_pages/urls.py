"""/<slug>/: included last by publisher/urls.py, so every other address of the site is
matched first (and `site_page_slug_problem` keeps editors from choosing one of them)."""

from django.urls import path

from reports.site_pages import views

app_name = "site_pages"

urlpatterns = [path("<slug:slug>/", views.site_page, name="page")]
