"""A watch service's refusal lands on the form field it names."""

from __future__ import annotations

import pytest
from django.test import Client

from receipts.watch.models import Channel
from tests.campaigns.factories import make_user
from tests.factories import make_entity
from tests.watch.conftest import SECRET
from tests.watch.factories import make_watchlist

pytestmark = pytest.mark.django_db


def test_a_webhook_to_a_private_address_is_refused_on_the_url_field(client: Client) -> None:
    user = make_user("organiser")
    watchlist = make_watchlist(make_entity("Amazon"), owner=user)
    client.force_login(user)
    response = client.post(
        f"/watch/{watchlist.pk}/webhooks/", {"url": "http://169.254.169.254/x", "secret": SECRET}
    )
    assert response.status_code == 400
    form = response.context["webhook_form"]
    assert list(form.errors) == ["url"]
    (problem,) = form.errors["url"]
    assert "not a public address" in problem
    assert not problem.startswith("url")
    assert not Channel.objects.filter(watchlist=watchlist).exists()
