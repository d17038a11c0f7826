from __future__ import annotations

from django.urls import URLPattern, path

from radflow.credentials import views

app_name = "credentials"
urlpatterns: list[URLPattern] = [
    path("", views.dashboard, name="dashboard"),
    path("mine/", views.mine, name="mine"),
    path("staff/<uuid:pk>/", views.person, name="person"),
    path("staff/<uuid:pk>/credentials/add/", views.add_credential, name="add_credential"),
    path("staff/<uuid:pk>/ce/add/", views.log_ce, name="log_ce"),
    path("staff/<uuid:pk>/competencies/add/", views.sign_off, name="sign_off"),
    path("staff/<uuid:pk>/plans/add/", views.add_plan, name="add_plan"),
    path("credential/<uuid:pk>/verify/", views.credential_verify, name="credential_verify"),
    path("credential/<uuid:pk>/evidence/", views.credential_evidence, name="credential_evidence"),
    path("signoff/<uuid:pk>/revalidate/", views.signoff_revalidate, name="signoff_revalidate"),
    path("plan/<uuid:pk>/", views.plan_edit, name="plan_edit"),
    path("plan/<uuid:pk>/cases/add/", views.plan_case, name="plan_case"),
]
