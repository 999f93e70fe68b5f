"""Round trips through pymemcache (text protocol) against HOST:PORT from argv.

Exits non-zero with a message on the first surprise; prints "ok" at the end.
"""
import sys

from pymemcache.client.base import Client

host, port = sys.argv[1], int(sys.argv[2])
c = Client((host, port), connect_timeout=5, timeout=5, default_noreply=False)


def check(what, got, want):
    if got != want:
        sys.exit(f"{what}: got {got!r}, want {want!r}")


check("set", c.set("a", b"hello", expire=0), True)
check("get", c.get("a"), b"hello")
check("get miss", c.get("nope"), None)
check("set many", c.set_many({"b": b"1", "c": b"2"}), [])
check("get many", c.get_many(["a", "b", "c", "nope"]), {"a": b"hello", "b": b"1", "c": b"2"})
check("add existing", c.add("a", b"x"), False)
check("add new", c.add("d", b"x"), True)
check("replace missing", c.replace("nope", b"x"), False)
check("replace", c.replace("d", b"y"), True)
check("append", c.append("a", b" world"), True)
check("prepend", c.prepend("a", b">"), True)
check("get after append", c.get("a"), b">hello world")
value, cas = c.gets("a")
check("gets", value, b">hello world")
check("cas stale", c.cas("a", b"new", int(cas) + 1000), False)
check("cas", c.cas("a", b"new", cas), True)
check("cas missing", c.cas("nope", b"new", 1), None)
check("incr", c.incr("b", 41), 42)
check("decr", c.decr("b", 100), 0)
check("incr missing", c.incr("nope", 1), None)
check("touch", c.touch("a", 100), True)
check("touch missing", c.touch("nope", 100), False)
check("delete", c.delete("a"), True)
check("delete missing", c.delete("a", noreply=False), False)
check("noreply set", c.set("e", b"quiet", noreply=True), True)
check("get noreply set", c.get("e"), b"quiet")
check("binary value", c.set("bin", bytes(range(256))), True)
check("get binary value", c.get("bin"), bytes(range(256)))
big = b"v" * 500_000
check("large value", c.set("big", big), True)
check("get large value", c.get("big"), big)
stats = c.stats()
check("stats has cmd_get", b"cmd_get" in stats or "cmd_get" in stats, True)
check("version", c.version().startswith(b"1.6"), True)
check("flush_all", c.flush_all(), True)
check("get after flush", c.get("b"), None)
c.quit()
print("ok")
