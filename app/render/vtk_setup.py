"""VTK modules the adapters need registered (OpenGL, fonts), and render-window defaults."""

from __future__ import annotations

import vtkmodules.vtkInteractionStyle  # noqa: F401
import vtkmodules.vtkRenderingFreeType  # noqa: F401  (text)
import vtkmodules.vtkRenderingOpenGL2  # noqa: F401  (OpenGL render window and mappers)


def configure_render_window(render_window) -> None:
    """Settings for image display: no multisampling (8x MSAA costs ~15 ms a frame in software
    GL and does nothing for a textured quad)."""
    render_window.SetMultiSamples(0)
    render_window.SetNumberOfLayers(2)  # layer 1: the loupe
