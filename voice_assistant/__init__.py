"""Offline voice assistant for back muscle spasm.

The package layout follows the pipeline: ``audio`` (sources and sinks),
``stt`` (recognizers), ``nlu`` and ``knowledge`` (understanding the question),
``dialogue`` (pure conversation state), ``tts`` (speaking), and ``app`` which
wires them together. ``cli`` is the command-line entry point.
"""

__version__ = "0.1.0"
