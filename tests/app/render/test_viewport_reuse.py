"""Opening another study keeps the viewports' render windows and shows the new images."""

import numpy as np
import pytest

pytestmark = pytest.mark.gui


def _study(value: float, n_slices: int, uid: str):
    from app.model.image import DisplayImage
    from app.model.study import Study

    images = []
    for lat in ("R", "L"):
        for view in ("CC", "MLO"):
            data = np.zeros((n_slices, 120, 90), np.float32)
            data[:, 20:100, :70] = value
            images.append(DisplayImage(data, laterality=lat, view=view, pixel_mm=(0.5, 0.5), window=(0.5, 1.0)))
    return Study(images=images, patient_name="REUSE^TEST", study_uid=uid)


def _mean_grey(qvp) -> float:
    from vtkmodules.util import numpy_support
    from vtkmodules.vtkRenderingCore import vtkWindowToImageFilter

    qvp.vtk.render_now()
    grab = vtkWindowToImageFilter()
    grab.SetInput(qvp.vtk.GetRenderWindow())
    grab.ReadFrontBufferOff()
    grab.Update()
    arr = numpy_support.vtk_to_numpy(grab.GetOutput().GetPointData().GetScalars())
    return float(arr[:, :3].mean())


@pytest.fixture
def window(qtbot, tmp_path):
    from PySide6 import QtWidgets

    from app.qt.main_window import QtMainWindow

    QtWidgets.QApplication.instance().setProperty("crescent_no_dialogs", True)
    w = QtMainWindow(store_dir=tmp_path)
    w.resize(900, 700)
    qtbot.addWidget(w)
    w.worklist_dock.hide()
    w.show()
    qtbot.waitExposed(w)
    yield w
    w.close()


def test_a_second_study_reuses_the_render_windows_and_shows_its_images(window, qtbot):
    dark, bright = _study(0.1, 6, "2.25.1"), _study(0.9, 9, "2.25.2")
    window.open_study(dark, protocol_id="4view")
    qtbot.wait(20)
    for vp in window.session.viewports:
        vp.overlays_visible = False
    windows = [q.vtk.GetRenderWindow() for q in window.viewports]
    grey_dark = _mean_grey(window.viewports[0])
    old_state = window.viewports[0].state

    window.open_study(bright, protocol_id="4view")
    qtbot.wait(20)
    for vp in window.session.viewports:
        vp.overlays_visible = False
    assert [q.vtk.GetRenderWindow() for q in window.viewports] == windows  # no new OpenGL contexts
    for i, (qvp, state) in enumerate(zip(window.viewports, window.session.viewports, strict=True)):
        assert qvp.state is state and qvp.vtk.state is state and qvp.vtk.view.state is state
        assert qvp.index == i == qvp.vtk.index
    assert window.viewports[0].slider.maximum() == 8  # the new stack's 9 slices
    assert _mean_grey(window.viewports[0]) > grey_dark + 20

    # the old state no longer drives the widget; the new one does (slider, cine timer)
    old_state.slice_index = 0
    assert window.viewports[0].slider.value() == window.session.viewports[0].slice_index == 4
    window.session.viewports[0].slice_index = 7
    assert window.viewports[0].slider.value() == 7
    window.session.viewports[0].cine_playing = True
    qtbot.waitUntil(lambda: window.session.viewports[0].slice_index != 7, timeout=2000)
    window.session.viewports[0].cine_playing = False


def test_a_layout_of_another_shape_builds_new_viewports(window, qtbot):
    study = _study(0.5, 6, "2.25.3")
    window.open_study(study, protocol_id="4view")
    qtbot.wait(20)
    four = list(window.viewports)
    window.open_study(study, protocol_id="single")
    qtbot.wait(20)
    assert len(window.viewports) == 1 and window.viewports[0] not in four
    assert window.viewports[0].state is window.session.viewports[0]
