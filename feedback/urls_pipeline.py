"""Pipeline settings (CX leader) and pipeline health (staff). Namespace ``feedback``."""

from django.urls import path

from . import views_pipeline as v

urlpatterns = [
    path("settings/routing/", v.routing_settings, name="routing"),
    path("settings/routing/themes/new/", v.theme_edit, name="theme-create"),
    path("settings/routing/themes/<int:pk>/", v.theme_edit, name="theme-edit"),
    path("settings/routing/rules/new/", v.rule_edit, name="rule-create"),
    path("settings/routing/rules/<int:pk>/", v.rule_edit, name="rule-edit"),
    path("settings/routing/rules/<int:pk>/move/", v.rule_move, name="rule-move"),
    path("settings/routing/rules/<int:pk>/delete/", v.rule_delete, name="rule-delete"),
    path("settings/routing/sla/<str:priority>/<str:loop>/", v.sla_edit, name="sla-edit"),
    path("settings/routing/policy/", v.policy_save, name="policy-save"),
    path("settings/routing/outer-loop/", v.outer_loop_save, name="outer-loop-save"),
    path("settings/pipeline/", v.pipeline_health, name="pipeline-health"),
    path("settings/pipeline/rerun/", v.pipeline_rerun, name="pipeline-rerun"),
]
