from django.urls import path

from reports.dashboard import views

app_name = "dashboard"

urlpatterns = [
    path("", views.dashboard, name="page"),
    path("<slug:slug>.svg", views.figure_chart, name="chart"),
    path("<slug:slug>.csv", views.figure_csv, name="csv"),
]
