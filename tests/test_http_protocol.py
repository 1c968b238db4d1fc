"""tumen's uvicorn protocol respells one header name in the response head, and touches nothing else."""

import pytest

from tumen.http_protocol import _CanonicalLocation

# HTTP, a client or load, the same on every backend: run in the SQLite pass only.
pytestmark = pytest.mark.above_storage


class Recorder:
    def __init__(self) -> None:
        self.data: list[bytes] = []

    def write(self, data: bytes) -> None:
        self.data.append(data)

    def is_closing(self) -> bool:
        return False


def test_location_respelled_in_the_head_only() -> None:
    sink = Recorder()
    transport = _CanonicalLocation(sink)  # type: ignore[arg-type]
    head = b'HTTP/1.1 201 Created\r\netag: "1"\r\nlocation: http://h/api/x/items/a\r\n\r\n'
    body = b'{"note": "\\r\\nlocation: stays"}\r\nlocation: stays'
    transport.write(head + body)
    transport.write(b"\r\nlocation: a later body chunk")
    assert sink.data == [
        head.replace(b"\r\nlocation: ", b"\r\nLocation: ") + body,
        b"\r\nlocation: a later body chunk",
    ]
    assert transport.is_closing() is False  # everything else goes to the real transport
