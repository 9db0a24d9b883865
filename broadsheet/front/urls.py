from django.urls import path

from broadsheet.front import views

urlpatterns = [
    path("", views.front_page, name="front"),
    # <str:slug>, not <slug:slug>: slugs keep Unicode letters so that non-Latin headlines read.
    path("article/<int:pk>/<str:slug>/", views.article_page, name="article"),
    path("article/<int:pk>/", views.article_by_id, name="article-by-id"),
    path("source/<slug:slug>/", views.source_page, name="source"),
    path("sources/", views.sources_page, name="sources"),
    path("tag/<str:slug>/", views.tag_page, name="tag"),
    path("search/", views.search_page, name="search"),
    path("csrf.json", views.csrf_cookie, name="csrf-cookie"),
    path("ads.css", views.ad_styles, name="ad-styles"),
]
