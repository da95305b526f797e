"""Seeing results: a static report site of model scores and instances, and a page for human
evaluation.

``clevrlite report`` (clevrlite.report.site) scores each predictions file once with the
scorer and writes one self-contained folder: the paper's tables from each file's
``Report.to_dict()``, SVG curves, and an instance browser whose data loads through
``<script src>`` files (file:// forbids fetching JSON), the index at once and each instance's
details in chunks on demand. ``clevrlite human`` (clevrlite.report.human) draws a stratified
sample and writes a page on which a person answers it and downloads a predictions file that
``clevrlite score`` and ``clevrlite report`` read.
"""
