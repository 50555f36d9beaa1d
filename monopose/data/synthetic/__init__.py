"""Synthetic people with exact 3D ground truth: mocap motion on the anny body model, rendered.

* :mod:`.body` — anny loading (cache folder: ``cache_dir`` argument, else ``ANNY_CACHE_DIR``,
  else ``~/.cache/monopose/anny``), body shapes, posing, H36M-17 joints of the body;
* :mod:`.retarget` — H36M-17 poses → anny bone rotations;
* :mod:`.render` — headless CPU rasterizer (moderngl, EGL);
* :mod:`.scene` — cameras, lights, skin and clothing colours; :mod:`.backgrounds` — backgrounds;
* :mod:`.poses` — the poses to render (a mocap split);
* :mod:`.shards` — shard files shared by the writers: encoding, atomic writes, resuming;
* :mod:`.generate` — samples, sharded dataset writer (``monopose data render``) and reader;
* :mod:`.multi` — multi-person images (``monopose data render-multi``), with :mod:`.multi_layout`
  (scene geometry), :mod:`.composite` (depth compositing) and :mod:`.multi_store` (labels, shards).

Needs the optional extra ``pip install 'monopose[render]'`` (anny, moderngl, scikit-image);
nothing is imported here, so importing the package is cheap and never fails.
"""
