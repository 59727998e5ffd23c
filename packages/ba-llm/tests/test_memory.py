"""ba_llm.memory: what a training process gives back or never keeps."""

from __future__ import annotations

import sys

import pytest

from ba_llm import KERNEL_CACHE_CAPACITY, limit_kernel_cache, release_free_memory


def test_the_kernel_cache_is_bounded_unless_the_user_chose(monkeypatch):
    monkeypatch.delenv("ONEDNN_PRIMITIVE_CACHE_CAPACITY", raising=False)
    assert limit_kernel_cache() == KERNEL_CACHE_CAPACITY
    import os

    assert os.environ["ONEDNN_PRIMITIVE_CACHE_CAPACITY"] == str(KERNEL_CACHE_CAPACITY)
    monkeypatch.setenv("ONEDNN_PRIMITIVE_CACHE_CAPACITY", "1024")  # the user's value is kept
    assert limit_kernel_cache(8) == 1024 and os.environ["ONEDNN_PRIMITIVE_CACHE_CAPACITY"] == "1024"
    monkeypatch.setenv("ONEDNN_PRIMITIVE_CACHE_CAPACITY", "lots")  # not a number: oneDNN ignores it
    assert limit_kernel_cache(8) == 8


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's malloc_trim")
def test_free_memory_is_given_back_on_glibc():
    assert release_free_memory() is True
