"""Helpers shared by the benchmarks in this directory (run by hand)."""
import os
import socket
import subprocess
import time


def free_port():
    """A free TCP port on 127.0.0.1."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def make_cert(d):
    """A throw-away self-signed certificate for localhost in directory d;
    returns (cert, key) paths."""
    key, cert, tmpl = (os.path.join(d, n) for n in ("key.pem", "cert.pem", "t.cfg"))
    with open(tmpl, "w") as f:
        f.write('cn = "localhost"\ndns_name = "localhost"\nexpiration_days = 2\n'
                "tls_www_server\nsigning_key\nencryption_key\n")
    for args in (["--generate-privkey", "--key-type=ecdsa", "--curve=secp256r1",
                  "--outfile", key],
                 ["--generate-self-signed", "--load-privkey", key, "--template",
                  tmpl, "--outfile", cert]):
        subprocess.run(["certtool"] + args, check=True, capture_output=True)
    return cert, key


def wait_port(port, timeout=20):
    """Returns once something accepts connections on 127.0.0.1:port."""
    deadline = time.time() + timeout
    while True:
        try:
            socket.create_connection(("127.0.0.1", port)).close()
            return
        except OSError:
            if time.time() > deadline:
                raise
            time.sleep(0.05)
