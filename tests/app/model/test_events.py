from dataclasses import dataclass

import pytest

from app.model.events import EventedList, EventedModel


@dataclass(eq=False)
class _Thing(EventedModel):
    size: int = 1
    name: str = "a"

    def _coerce_size(self, value):
        if value < 0:
            raise ValueError("size must be >= 0")
        return int(value)


def test_assignment_emits_field_and_changed_events_once_per_change():
    t = _Thing()
    seen = []
    t.events.size.connect(lambda e: seen.append(("size", e.value, e.old)))
    t.events.changed.connect(lambda e: seen.append(("changed", e.name)))
    t.size = 3
    t.size = 3  # unchanged: no event
    t.name = "b"
    assert seen == [("size", 3, 1), ("changed", "size"), ("changed", "name")]


def test_coercion_validates_and_blocker_silences():
    t = _Thing()
    with pytest.raises(ValueError):
        t.size = -1
    assert t.size == 1
    seen = []
    t.events.size.connect(lambda e: seen.append(e.value))
    with t.events.size.blocker():
        t.size = 5
    assert seen == [] and t.size == 5
    t.events.size.disconnect()
    t.size = 6
    assert seen == []


def test_evented_list_reports_inserts_and_removals():
    lst = EventedList([1])
    seen = []
    lst.events.inserted.connect(lambda e: seen.append(("+", e.index, e.value)))
    lst.events.removed.connect(lambda e: seen.append(("-", e.index, e.value)))
    lst.append(2)
    lst.remove(1)
    assert seen == [("+", 1, 2), ("-", 0, 1)]
    with pytest.raises(TypeError):
        lst[0] = 3
