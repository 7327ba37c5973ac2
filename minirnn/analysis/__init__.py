"""Measurements the chapters make: small, tested functions behind each chapter's experiments.

One module per topic; each chapter notebook imports from here rather than defining logic itself.
"""
