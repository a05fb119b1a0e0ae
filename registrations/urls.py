from django.urls import path

from . import views

app_name = "registrations"

urlpatterns = [
    path("", views.my_registrations, name="my_registrations"),
    path("activity/<int:pk>/sign-up/", views.sign_up, name="sign_up"),
    path("<int:pk>/", views.registration_detail, name="registration_detail"),
    path("<int:pk>/withdraw/", views.withdraw, name="withdraw"),
]
