"""Addresses of campaign pages: public under /campaigns/, editor pages under /edit/campaigns/."""

from django.urls import path

from . import editor, views

urlpatterns = [
    path("campaigns/", views.campaign_list, name="campaigns"),
    path("campaigns/<slug:slug>/", views.campaign_page, name="campaign"),
    path("campaigns/<slug:slug>/brief/", views.campaign_brief, name="campaign-brief"),
    path("campaigns/<slug:slug>/card.png", views.campaign_card, name="campaign-card"),
    path("c/<str:code>", views.campaign_short, name="campaign-short"),
    path("edit/campaigns/new/", editor.campaign_new, name="campaign-new"),
    path("edit/campaigns/<slug:slug>/", editor.campaign_manage, name="campaign-manage"),
    path(
        "edit/campaigns/<slug:slug>/settings/", editor.campaign_settings, name="campaign-settings"
    ),
    path("edit/campaigns/<slug:slug>/demands/new/", editor.demand_new, name="demand-new"),
    path("edit/campaigns/<slug:slug>/demands/<int:pk>/", editor.demand_edit, name="demand-edit"),
    path(
        "edit/campaigns/<slug:slug>/demands/<int:pk>/status/",
        editor.demand_status,
        name="demand-status",
    ),
    path(
        "edit/campaigns/<slug:slug>/demands/<int:pk>/confirm-met/",
        editor.demand_confirm_met,
        name="demand-confirm-met",
    ),
    path("edit/campaigns/<slug:slug>/actions/new/", editor.action_new, name="action-new"),
    path("edit/campaigns/<slug:slug>/actions/<int:pk>/", editor.action_edit, name="action-edit"),
    path("edit/campaigns/<slug:slug>/coalition/", editor.coalition_add, name="coalition-add"),
    path(
        "edit/campaigns/<slug:slug>/coalition/<slug:entity_slug>/remove/",
        editor.coalition_remove,
        name="coalition-remove",
    ),
    path("edit/campaigns/<slug:slug>/goals/new/", editor.goal_edit, name="goal-new"),
    path("edit/campaigns/<slug:slug>/goals/<int:pk>/", editor.goal_edit, name="goal-edit"),
    path(
        "edit/campaigns/<slug:slug>/goals/<int:pk>/progress/",
        editor.goal_progress,
        name="goal-progress",
    ),
    path("edit/campaigns/<slug:slug>/members/", editor.members, name="campaign-members"),
    path(
        "edit/campaigns/<slug:slug>/members/invite/", editor.member_invite, name="campaign-invite"
    ),
    path(
        "edit/campaigns/<slug:slug>/invitations/<int:pk>/revoke/",
        editor.invitation_revoke,
        name="campaign-invitation-revoke",
    ),
    path(
        "edit/campaigns/<slug:slug>/members/<int:pk>/remove/",
        editor.member_remove,
        name="campaign-member-remove",
    ),
]
