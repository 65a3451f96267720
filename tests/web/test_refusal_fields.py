"""A service's refusal lands on the editor form field it names, in the editor and the admin."""

from __future__ import annotations

import pytest
from django.test import Client

from receipts.evidence.models import Tie
from tests.factories import make_editor, make_entity, make_source, make_tie

pytestmark = pytest.mark.django_db

CYCLE = "B owns A would make a cycle in ownership or part_of ties"


def test_editor_puts_a_refused_tie_on_the_field_the_service_names(client: Client) -> None:
    a, b = make_entity("A"), make_entity("B")
    make_tie(a, "owns", b)
    client.force_login(make_editor())
    response = client.post(
        "/edit/ties/new/",
        {
            "subject": b.slug,
            "object": a.slug,
            "kind": "owns",
            "status": "active",
            "source": make_source().pk,
        },
    )
    assert response.status_code == 400
    form = response.context["form"]
    assert form.errors["kind"] == [CYCLE]
    assert form.non_field_errors() == []
    assert Tie.objects.count() == 1


def test_admin_puts_a_refused_tie_on_the_field_the_service_names(admin_client: Client) -> None:
    a, b = make_entity("A"), make_entity("B")
    make_tie(a, "owns", b)
    response = admin_client.post(
        "/admin/evidence/tie/add/",
        {
            "subject": b.pk,
            "object": a.pk,
            "kind": "owns",
            "status": "active",
            "cite_source": make_source().pk,
            "citations-TOTAL_FORMS": "0",
            "citations-INITIAL_FORMS": "0",
            "citations-MIN_NUM_FORMS": "0",
            "citations-MAX_NUM_FORMS": "1000",
        },
    )
    assert response.status_code == 200
    form = response.context["adminform"].form
    assert form.errors["kind"] == [CYCLE]
    assert Tie.objects.count() == 1
