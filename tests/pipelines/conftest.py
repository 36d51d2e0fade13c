"""Fixtures for Beam stage tests."""

from __future__ import annotations

import pytest
from apache_beam.testing.test_pipeline import TestPipeline

from xlmforge.pipelines.common.layout import BuildLayout
from xlmforge.pipelines.common.options import pipeline_options


@pytest.fixture
def layout(tmp_path) -> BuildLayout:
    return BuildLayout(str(tmp_path / "build"))


@pytest.fixture
def make_pipeline():
    """A TestPipeline on the project's default runner (no Prism download attempt)."""
    return lambda: TestPipeline(options=pipeline_options([]))
