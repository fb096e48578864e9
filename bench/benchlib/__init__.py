"""The benchmark behind ``bench/run.py``, one module per job.

Measuring (Docker, wrk, build.py; nothing here writes the report):
    machine     the host, the engine and the git revision the run is about
    containers  start a server container, wait for its first 200, read its memory
    loadgen     one wrk run against 127.0.0.1 and the parse of its output
    serving     the server configurations and the interleaved wrk runs
    coldstart   docker run to the first 200
    images      image and layer sizes
    builds      build.py rebuilds and s2i assembles, timed
    cleanup     remove this run's containers and images, nothing else
    session     one whole measuring run: the parts in turn, then the results file

Noise accounting:
    noise       CPU used by other processes on the host while we measure
    stats       medians, ratios and the target checks, from the samples

Reporting (from the results file only; no Docker):
    report      <variant>.md through templates/report.md.j2
    plot        <variant>-serving.png

Shared: common (paths, names, log) and context (the run's settings and state).
"""
