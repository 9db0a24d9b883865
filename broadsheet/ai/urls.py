from django.urls import path

from broadsheet.ai import views

urlpatterns = [
    path("article/<int:pk>/ai/summary.json", views.summary, name="ai-summary"),
    path("article/<int:pk>/ai/key-points.json", views.key_points, name="ai-key-points"),
    path("article/<int:pk>/ai/ask", views.ask, name="ai-ask"),
]
