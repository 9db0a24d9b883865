from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("", include("broadsheet.ai.urls")),
    path("", include("broadsheet.front.urls")),
]

# --- Community: accounts and comments (broadsheet.community) ------------------------------
urlpatterns += [path("", include("broadsheet.community.urls"))]
