"""The extra outputs of ``monopose predict`` per input: pictures, the HTML viewer, BVH files.

:func:`writers_for` turns the CLI's ``--viz`` and ``--bvh`` into the writer factories that
:func:`monopose.pipeline.batch.run_batch` calls for every input (the pipeline itself writes only
the JSON and NPZ, and knows no exporter).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from monopose.export.bvh_writer import export_prediction_bvh
from monopose.export.html_viewer import HtmlViewerWriter
from monopose.io.results import FrameResult, Prediction
from monopose.pipeline.batch import InputInfo, InputWriter, WriterFactory
from monopose.pipeline.viz import PictureOutput, WorldUp

__all__ = ["VIZ_FORMATS", "HtmlOutput", "BvhOutput", "writers_for"]

VIZ_FORMATS = ("png", "html")


class HtmlOutput:
    """``<stem>.html``: the interactive viewer of one photo or video (see
    :mod:`monopose.export.html_viewer`)."""

    def __init__(self, info: InputInfo) -> None:
        self._viewer = HtmlViewerWriter(info.stem_path.with_suffix(".html"), info.camera,
                                        info.fps)

    def add(self, frame_rgb: np.ndarray, frame: FrameResult) -> None:
        self._viewer.add(frame_rgb, frame)

    def finish(self, prediction: Prediction, warnings: list[str]) -> list[Path]:
        return [self._viewer.close(prediction)]

    def abort(self) -> None:
        self._viewer.abort()


class BvhOutput:
    """``<stem>_<person>.bvh``: one animation per tracked person of a video (see
    :func:`monopose.export.bvh_writer.export_prediction_bvh`); notes go to the warnings."""

    def __init__(self, info: InputInfo) -> None:
        self._path = info.stem_path.with_suffix(".bvh")

    def add(self, frame_rgb: np.ndarray, frame: FrameResult) -> None:
        pass  # the animation is made from the whole prediction

    def finish(self, prediction: Prediction, warnings: list[str]) -> list[Path]:
        if not prediction.num_people:
            return []
        return export_prediction_bvh(prediction, self._path, warnings=warnings)

    def abort(self) -> None:
        pass  # nothing is written before finish




def _html(info: InputInfo) -> InputWriter:
    return HtmlOutput(info)


def _bvh(info: InputInfo) -> InputWriter | None:
    return BvhOutput(info) if info.kind == "video" else None


def writers_for(viz: Sequence[str] = (), bvh: bool = False, world_up: WorldUp = "auto"
                ) -> list[WriterFactory]:
    """Writer factories for ``viz`` formats (``"png"``: a PNG per photo, an MP4 per video;
    ``"html"``: the viewer) and ``bvh`` (videos only). ``world_up`` orients the pictures'
    3D views (see :class:`monopose.pipeline.viz.PictureOutput`).

    Raises:
        ValueError: on an unknown format in ``viz``.
    """
    unknown = sorted(set(viz) - set(VIZ_FORMATS))
    if unknown:
        raise ValueError(f"viz: unknown format(s) {unknown}; expected {VIZ_FORMATS}")
    factories: list[WriterFactory] = []
    if "png" in viz:
        factories.append(lambda info: PictureOutput(info.stem_path, info.fps, world_up,
                                                    info.world))
    if "html" in viz:
        factories.append(_html)
    if bvh:
        factories.append(_bvh)
    return factories
