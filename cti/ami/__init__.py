"""Hotline's own asyncio client for the Asterisk Manager Interface (AMI).

Why our own: the design card's `asterisk-ami` kills its listener after 3 s of
silence and has no event lists; `panoramisk` decodes each TCP chunk separately
and loses UTF-8 characters split across reads (Chinese caller names). See the
README and ../../docs/BENCHMARKS.md for the measured figures.
"""
