"""Who may see and change a campaign: the one place the per-campaign roles are read.

Staff and superusers act as organisers of every campaign. Anyone may read a
public campaign; a private one exists only for its members, so callers answer
"not found" to everyone else rather than revealing it.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet

from .models import Campaign, CampaignMembership, MemberRole, Visibility

# Roles in rising order of what they allow.
_RANK = {MemberRole.VIEWER: 1, MemberRole.EDITOR: 2, MemberRole.ORGANISER: 3}


def _is_admin(user: Any) -> bool:
    return bool(getattr(user, "is_active", False) and (user.is_staff or user.is_superuser))


def role_of(user: Any, campaign: Campaign) -> str | None:
    """The user's role in the campaign (organiser for staff), or None."""
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return None
    if _is_admin(user):
        return MemberRole.ORGANISER
    return (
        CampaignMembership.objects.filter(campaign=campaign, user=user)
        .values_list("role", flat=True)
        .first()
    )


def _has(user: Any, campaign: Campaign, role: str) -> bool:
    found = role_of(user, campaign)
    return found is not None and _RANK[MemberRole(found)] >= _RANK[MemberRole(role)]


def can_view(user: Any, campaign: Campaign) -> bool:
    return campaign.visibility == Visibility.PUBLIC or _has(user, campaign, MemberRole.VIEWER)


def can_edit(user: Any, campaign: Campaign) -> bool:
    """Editors and organisers change demands, actions, the coalition and goals."""
    return _has(user, campaign, MemberRole.EDITOR)


def can_organise(user: Any, campaign: Campaign) -> bool:
    """Organisers also change the campaign's own settings and its members."""
    return _has(user, campaign, MemberRole.ORGANISER)


def can_create_campaigns(user: Any) -> bool:
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    return _is_admin(user) or bool(user.has_perm("campaigns.add_campaign"))


def visible_campaigns(user: Any) -> QuerySet[Campaign]:
    """Public campaigns, and the private ones the user is a member of (all for staff)."""
    qs = Campaign.objects.all()
    if _is_admin(user):
        return qs
    public = Q(visibility=Visibility.PUBLIC)
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return qs.filter(public)
    return qs.filter(public | Q(memberships__user=user)).distinct()
