"""Benchmarks of the site's inference, preprocessing, training and web stack (``make bench``)."""
