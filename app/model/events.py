"""A small event system for pure-Python models (the napari ``EventedModel`` pattern).

A model declares its state as dataclass fields; assigning a field validates the value
(through an optional ``_coerce_<field>`` method) and, when it changed, emits
``model.events.<field>(value=new, old=old)`` and then ``model.events.changed(name=...)``.
Views (VTK adapters, Qt widgets) take the model and connect callbacks to these emitters;
the model never knows who listens.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np

__all__ = ["Event", "EventEmitter", "EmitterGroup", "EventedModel", "EventedList"]


class Event:
    """What a callback receives: ``type`` (the emitter's name), ``source`` and keyword data."""

    def __init__(self, type: str, source: Any, **kwargs):
        self.type = type
        self.source = source
        self.__dict__.update(kwargs)

    def __repr__(self) -> str:
        items = ", ".join(f"{k}={v!r}" for k, v in self.__dict__.items() if k != "source")
        return f"Event({items})"


class EventEmitter:
    """A list of callbacks called with an :class:`Event` when the emitter is called."""

    def __init__(self, name: str = "", source: Any = None):
        self.name = name
        self.source = source
        self._callbacks: list[Callable[[Event], Any]] = []
        self._blocked = 0

    def connect(self, callback: Callable[[Event], Any]) -> Callable[[Event], Any]:
        """Call ``callback(event)`` on every emission; returns the callback (usable as a decorator)."""
        if not callable(callback):
            raise TypeError(f"EventEmitter.connect: {callback!r} is not callable")
        if callback not in self._callbacks:
            self._callbacks.append(callback)
        return callback

    def disconnect(self, callback: Callable[[Event], Any] | None = None) -> None:
        """Remove one callback, or all of them when ``callback`` is None."""
        if callback is None:
            self._callbacks.clear()
        elif callback in self._callbacks:
            self._callbacks.remove(callback)

    @property
    def callbacks(self) -> tuple:
        return tuple(self._callbacks)

    def __call__(self, **kwargs) -> Event | None:
        if self._blocked:
            return None
        event = Event(self.name, self.source, **kwargs)
        for cb in list(self._callbacks):
            cb(event)
        return event

    @contextmanager
    def blocker(self) -> Iterator[None]:
        """Suppress emissions inside a ``with`` block."""
        self._blocked += 1
        try:
            yield
        finally:
            self._blocked -= 1


class EmitterGroup:
    """Named emitters reachable as attributes: ``group.slice_index.connect(cb)``."""

    def __init__(self, source: Any, names: list[str]):
        self._source = source
        self._emitters: dict[str, EventEmitter] = {}
        for name in names:
            self.add(name)

    def add(self, name: str) -> EventEmitter:
        if name not in self._emitters:
            self._emitters[name] = EventEmitter(name, self._source)
        return self._emitters[name]

    def __getattr__(self, name: str) -> EventEmitter:
        emitters = self.__dict__.get("_emitters", {})
        if name in emitters:
            return emitters[name]
        raise AttributeError(f"no event named {name!r}")

    def __contains__(self, name: str) -> bool:
        return name in self._emitters

    @property
    def names(self) -> list[str]:
        return list(self._emitters)

    def disconnect(self, callback: Callable | None = None) -> None:
        """Remove ``callback`` (or every callback) from all emitters."""
        for em in self._emitters.values():
            em.disconnect(callback)

    @contextmanager
    def blocker_all(self) -> Iterator[None]:
        """Suppress every emitter of the group inside a ``with`` block."""
        for em in self._emitters.values():
            em._blocked += 1
        try:
            yield
        finally:
            for em in self._emitters.values():
                em._blocked -= 1


def _same(a: Any, b: Any) -> bool:
    if a is b:
        return True
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return False
    try:
        return bool(a == b)
    except Exception:  # objects whose == is not a bool
        return False


class EventedModel:
    """Base for dataclass models whose field assignments emit events.

    Subclass it with ``@dataclasses.dataclass(eq=False)``; define ``_coerce_<field>(value)``
    to validate/clamp a field (raise ``ValueError``/``TypeError`` for bad values). Every
    field gets an emitter ``events.<field>``; ``events.changed`` fires after any of them with
    ``name``, ``value`` and ``old``. Extra emitters can be listed in ``_extra_events``.
    """

    _extra_events: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        names = [f.name for f in dataclasses.fields(self)]
        object.__setattr__(self, "_field_names", frozenset(names))
        object.__setattr__(self, "events", EmitterGroup(self, [*names, *self._extra_events, "changed"]))
        for name in names:
            coerce = getattr(self, f"_coerce_{name}", None)
            if coerce is not None:
                object.__setattr__(self, name, coerce(getattr(self, name)))

    def __setattr__(self, name: str, value: Any) -> None:
        fields = self.__dict__.get("_field_names")
        if fields is None or name not in fields:
            object.__setattr__(self, name, value)
            return
        coerce = getattr(self, f"_coerce_{name}", None)
        if coerce is not None:
            value = coerce(value)
        old = self.__dict__.get(name)
        if _same(old, value):
            return
        object.__setattr__(self, name, value)
        getattr(self.events, name)(value=value, old=old)
        self.events.changed(name=name, value=value, old=old)

    def update(self, **values: Any) -> None:
        """Assign several fields (each validated and emitted in the given order)."""
        for name in values:
            if name not in self._field_names:
                raise AttributeError(f"{type(self).__name__} has no field {name!r}")
        for name, value in values.items():
            setattr(self, name, value)


class EventedList(list):
    """A list that emits ``events.inserted(index, value)``, ``events.removed(index, value)``
    and ``events.changed()`` when items are added or removed."""

    def __init__(self, items=()):
        super().__init__(items)
        self.events = EmitterGroup(self, ["inserted", "removed", "changed"])

    def append(self, value) -> None:
        super().append(value)
        self.events.inserted(index=len(self) - 1, value=value)
        self.events.changed()

    def insert(self, index: int, value) -> None:
        super().insert(index, value)
        self.events.inserted(index=index, value=value)
        self.events.changed()

    def extend(self, values) -> None:
        for v in values:
            self.append(v)

    def remove(self, value) -> None:
        index = self.index(value)
        super().pop(index)
        self.events.removed(index=index, value=value)
        self.events.changed()

    def pop(self, index: int = -1):
        value = super().pop(index)
        self.events.removed(index=index, value=value)
        self.events.changed()
        return value

    def clear(self) -> None:
        while self:
            self.pop()

    def __setitem__(self, index, value):  # keep the events honest
        raise TypeError("EventedList: replace items with pop/insert so that listeners are told")

    def __delitem__(self, index):
        raise TypeError("EventedList: remove items with pop/remove so that listeners are told")
