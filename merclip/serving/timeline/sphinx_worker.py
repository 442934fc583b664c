"""A pocketsphinx decoder in a child process, serving utterances over its stdin/stdout.

A process, not a thread: pocketsphinx's Python bindings keep the GIL while they decode, so a decoding thread would
stop the timeline's own frame decoding and scoring; in a child process it runs on another core beside them. The
parent runs this file as a script (`python sphinx_worker.py OPTIONS_JSON`) rather than as a module of the package,
so the child imports pocketsphinx and the standard library only (the package's __init__ would import torch).

Protocol, both ways a 4-byte little-endian length then that many bytes: the parent sends an utterance's 16-kHz
mono int16 PCM, the child answers its words in UTF-8 (whitespace collapsed, "" when none). End of input ends it.
"""
from __future__ import annotations

import json
import struct
import sys
from pathlib import Path

HEADER = struct.Struct("<I")
SAMPLE_RATE = 16000


def new_decoder(options: dict):
    """A pocketsphinx Decoder with its shipped US-English model and `options` (its Config keys) changed."""
    from pocketsphinx import Decoder

    return Decoder(samprate=SAMPLE_RATE, **options)


def decode_pcm(decoder, pcm: bytes) -> str:
    """The words of one utterance (16-kHz mono int16 PCM), whitespace collapsed."""
    decoder.start_utt()
    decoder.process_raw(pcm, full_utt=True)
    decoder.end_utt()
    hyp = decoder.hyp()
    return " ".join(hyp.hypstr.split()) if hyp is not None else ""


def read_message(stream) -> bytes | None:
    """One length-prefixed message from `stream`; None at its end."""
    head = stream.read(HEADER.size)
    if len(head) < HEADER.size:
        return None
    (size,) = HEADER.unpack(head)
    body = stream.read(size)
    return body if len(body) == size else None


def write_message(stream, body: bytes) -> None:
    stream.write(HEADER.pack(len(body)) + body)
    stream.flush()


def serve(options: dict) -> int:
    """Answer utterances until the parent closes our stdin."""
    import os

    replies = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # anything the library prints goes to stderr, never into the replies
    decoder = new_decoder(options)
    requests = sys.stdin.buffer
    while (pcm := read_message(requests)) is not None:
        write_message(replies, decode_pcm(decoder, pcm).encode("utf-8"))
    return 0


if __name__ == "__main__":
    here = Path(__file__).resolve().parent  # the timeline package's folder: its modules are not top-level ones
    sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != here]
    try:
        sys.exit(serve(json.loads(sys.argv[1]) if len(sys.argv) > 1 else {}))
    except (KeyboardInterrupt, BrokenPipeError):  # the parent was interrupted or went away
        sys.exit(1)
