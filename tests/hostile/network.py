import socket, sys
port = int(sys.argv[1]) if len(sys.argv) > 1 else 80
for host, p in (("1.1.1.1", 53), ("8.8.8.8", 443), ("127.0.0.1", port)):
    try:
        s = socket.create_connection((host, p), timeout=1)
        print("CONNECTED", host, p)
    except OSError as e:
        print("refused", host, p, e.__class__.__name__)
try:
    socket.getaddrinfo("example.com", 80)
    print("RESOLVED")
except OSError:
    print("no dns")
