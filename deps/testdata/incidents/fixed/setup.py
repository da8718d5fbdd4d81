#!/usr/bin/env python
"""Packaging of the ticket intent trainer."""
from setuptools import find_packages, setup

REQUIRED = [
    "torch==2.6.0",
    "transformers==4.38.0",  # pinned for the tokenizer
]

EXTRAS = {
    "agents": ["langchain==0.0.247"],
    "vision": ["ultralytics==8.3.47"],
}

setup(
    name="ticket-intent-trainer",
    version="0.3.0",
    packages=find_packages(exclude=("tests",)),
    python_requires=">=3.10",
    install_requires=REQUIRED,
    extras_require=EXTRAS,
)
