"""Sweeps of DCN runs over nonlinearities, initialisations, optimizers, learning rates and schedules.

- :mod:`.spec`: what a sweep trains (presets, grids) and where each run lives (no torch);
- :mod:`.state`: what a run folder holds and what to do about it (skip, resume, train);
- :mod:`.worker` and :mod:`.runner`: worker processes or a Dask cluster, with progress;
- :mod:`.table`, :mod:`.stats`, :mod:`.figures`, :mod:`.hparams`: what is rebuilt from the runs;
- :mod:`.sweep`: :func:`run_sweep`, the whole thing.
"""
