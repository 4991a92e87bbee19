from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from portal import apis, views

api_v1 = [
    path("customers/", apis.CustomerListApi.as_view(), name="customer_list"),
    path("customers/<int:customer_id>/", apis.CustomerDetailApi.as_view(), name="customer_detail"),
    path("premises/", apis.PremiseListApi.as_view(), name="premise_list"),
    path("premises/<int:premise_id>/", apis.PremiseDetailApi.as_view(), name="premise_detail"),
]

urlpatterns = [
    path("", views.home, name="home"),
    path("sign-in/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("sign-out/", auth_views.LogoutView.as_view(), name="logout"),
    path("customers/", views.customer_search, name="customer_search"),
    path("customers/<int:customer_id>/", views.customer_detail, name="customer_detail"),
    path("my-home/", views.my_home, name="my_home"),
    path("premises/<int:premise_id>/", views.premise_detail, name="premise_detail"),
    path("health/", views.health, name="health"),
    path("api/v1/", include((api_v1, "api"), namespace="api")),
    path("admin/", admin.site.urls),
]
