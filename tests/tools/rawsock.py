# Socket pieces shared by the raw protocol clients of the tests
# (tests/tools/nbd_raw.py, tests/tools/iscsi_raw.py).
import socket


def recvn(s, n):
    b = bytearray()
    while len(b) < n:
        c = s.recv(min(n - len(b), 1 << 20))
        if not c:
            raise EOFError("EOF after %d of %d bytes" % (len(b), n))
        b += c
    return bytes(b)


def closed(s, timeout=10):
    """True when the server closes s within timeout (data read is dropped)."""
    s.settimeout(timeout)
    try:
        while True:
            if not s.recv(65536):
                return True
    except (ConnectionResetError, BrokenPipeError):
        return True
    except socket.timeout:
        return False
