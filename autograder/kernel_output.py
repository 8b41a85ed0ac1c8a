"""Kernel side: stdout and stderr that never send the grader a message it would refuse.

ipykernel sends everything printed between two flushes as one message. The grader's sockets
(``execute.CappedKernelClient``) refuse a message over ``MAX_MESSAGE_BYTES`` unread, and zmq
answers such a message by dropping the connection: every later output and observation of the
notebook would be lost. So the kernel cuts each stream message to ``MAX_MESSAGE_CHARS``
characters and says how much it left out; the grader still applies its own per-cell and
per-notebook caps to what arrives. This is a courtesy to honest notebooks (a huge tensor
printed by mistake), not a defence: a kernel that sends an oversized message anyway only loses
its own outputs.
"""

from ipykernel.iostream import OutStream

MAX_MESSAGE_BYTES = 16 * 2**20  # a larger message from the kernel is refused by zmq unread
MAX_MESSAGE_CHARS = MAX_MESSAGE_BYTES // 8  # at most 6 bytes a character in JSON, and a header


def cap_text(text: str) -> str:
    """``text`` cut to MAX_MESSAGE_CHARS characters, with a note of how much was left out."""
    if len(text) <= MAX_MESSAGE_CHARS:
        return text
    left_out = len(text) - MAX_MESSAGE_CHARS
    return text[:MAX_MESSAGE_CHARS] + f"\n[{left_out:,} more characters printed, not sent]\n"


class CappedOutStream(OutStream):
    """ipykernel's OutStream whose every message carries at most MAX_MESSAGE_CHARS characters.

    (``OutStream.register_hook`` would not do: hooks are per thread, and the flush that sends
    runs in the IO thread.)
    """

    def _flush_buffers(self):
        for parent, data in super()._flush_buffers():
            yield parent, cap_text(data)
