"""QuickSelect: the same options and choice as Django's select, labels escaped."""

from __future__ import annotations

from django import forms

from radflow.web.widgets import QuickSelect

CHOICES = [("", "All rooms"), ("r1", "US <1>"), ("r2", 'CT "main" & co')]


class RoomForm(forms.Form):
    room = forms.ChoiceField(choices=CHOICES, required=False, widget=QuickSelect)


def test_it_marks_the_chosen_option_and_escapes_labels() -> None:
    html = str(RoomForm({"room": "r2"})["room"])
    assert html.startswith("<select ") and html.endswith("</select>")
    assert ' name="room"' in html.split(">")[0] and ' id="id_room"' in html.split(">")[0]
    assert '<option value="r2" selected>CT &quot;main&quot; &amp; co</option>' in html
    assert '<option value="r1">US &lt;1&gt;</option>' in html
    assert html.count(" selected") == 1


def test_nothing_chosen_selects_the_empty_option() -> None:
    html = str(RoomForm()["room"])
    assert '<option value="" selected>All rooms</option>' in html
    assert html.count(" selected") == 1
