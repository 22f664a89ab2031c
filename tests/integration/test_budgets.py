"""Budgets: every byte a client can make the daemon hold is bounded and
counted (chatd(8) LIMITS).  Kernel buffers first: without a bound, Linux
autotuned a non-reading client's send buffer to megabytes that no send
queue counted."""
import time

from conftest import scaled, tcp_queues, wait_until
from hostile import FAST, assert_serving, stats


def test_kernel_send_buffer_is_bounded_and_the_send_queue_counts(chatd, tmp_path):
    """A client that never reads: the daemon's kernel send queue for it
    stays within what socket-send-buffer allows (Linux doubles the value
    for its bookkeeping), the rest waits in the counted send queue, and
    sendq-hard cuts the client."""
    ctl = str(tmp_path / "ctl.sock")
    d = chatd("--control", ctl, config=dict(FAST, **{
        "socket-send-buffer": "16k", "sendq-hard": "128k",
        "sendq-soft": "64k", "max-per-ip": 0}))
    sink = d.client(name="sink", rcvbuf=4096)
    pub = d.client(name="pub")
    line = "y" * 1000
    worst = 0
    for i in range(400):
        pub.send("%04d %s" % (i, line))
        if i % 20 == 0:
            pub.sync()
            q = tcp_queues(d.port, sink.local_port)
            if q is None:
                break
            worst = max(worst, q[0])
    print("kernel send queue peak", worst)
    assert worst > 0
    assert worst <= 2 * 16 * 1024 + 4096, "kernel held %d bytes" % worst
    assert wait_until(lambda: stats(ctl)["closed_slow_consumer"] == 1, 10)
    assert sink.is_closed_by_peer(timeout=scaled(5))
    assert_serving(d)
