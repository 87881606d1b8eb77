"""A progress dialog with Cancel for a background :class:`app.jobs.Job` (polled, never blocking)."""

from __future__ import annotations

from PySide6 import QtCore, QtWidgets

__all__ = ["QtJobWatcher", "QtJobDialog"]


class QtJobWatcher(QtCore.QObject):
    """Polls a job from the GUI thread and re-emits its events as Qt signals."""

    progress = QtCore.Signal(int, int, str)
    partial = QtCore.Signal(str, object)
    finished = QtCore.Signal(object)
    failed = QtCore.Signal(str)
    cancelled = QtCore.Signal()

    def __init__(self, job, parent=None, *, interval_ms: int = 50):
        super().__init__(parent)
        self.job = job
        self.timer = QtCore.QTimer(self)
        self.timer.timeout.connect(self.poll)
        self.timer.start(interval_ms)

    def poll(self) -> None:
        for ev in self.job.poll():
            if ev.kind == "progress":
                self.progress.emit(ev.done, ev.total, ev.message)
            elif ev.kind == "partial":
                self.partial.emit(ev.name, ev.value)
            elif ev.kind == "done":
                self.timer.stop()
                self.finished.emit(ev.value)
            elif ev.kind == "failed":
                self.timer.stop()
                self.failed.emit(ev.message)
            elif ev.kind == "cancelled":
                self.timer.stop()
                self.cancelled.emit()


class QtJobDialog(QtWidgets.QProgressDialog):
    """Shows a job's progress; Cancel asks the job to stop. Closes itself when the job ends."""

    def __init__(self, job, parent=None):
        super().__init__(job.title, "Cancel", 0, 100, parent)
        self.setWindowTitle(job.title)
        self.setWindowModality(QtCore.Qt.WindowModality.NonModal)
        self.setMinimumDuration(0)
        self.setAutoClose(False)
        self.setAutoReset(False)
        self.job = job
        self.watcher = QtJobWatcher(job, self)
        self.watcher.progress.connect(self._on_progress)
        self.watcher.finished.connect(lambda _: self.close())
        self.watcher.failed.connect(lambda _: self.close())
        self.watcher.cancelled.connect(self.close)
        self.canceled.connect(job.cancel)

    def _on_progress(self, done: int, total: int, message: str) -> None:
        if total > 0:
            self.setMaximum(total)
            self.setValue(min(done, total))
        self.setLabelText(f"{self.job.title}\n{message}")
