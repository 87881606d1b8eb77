"""VTK adapters: one per kind of model object, each subscribing to its model's events.

:class:`~app.render.viewport_renderer.ViewportRenderer` composes them for one
:class:`~app.model.viewport.ViewportState` in a VTK render window:

- :class:`~app.render.image_slice.ImageSliceAdapter` — the slice or slab (only the visible
  region, box-averaged to screen resolution), window/level, invert, camera;
- :class:`~app.render.overlay_items.OverlayItemsAdapter` — rulers, marks, outlines
  (:class:`~app.model.overlays.OverlayItem`), with a registry of drawing functions per kind;
- :class:`~app.render.annotations.AnnotationAdapter` — laterality/view, slice and height,
  slab, W/L, orientation markers, scale bar, pixel probe;
- :class:`~app.render.loupe.LoupeAdapter` — the magnifier with its own window/level.
"""
