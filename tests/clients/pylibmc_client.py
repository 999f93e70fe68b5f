"""Drives pylibmc (libmemcached) in binary mode against a server; prints OK or fails.

Usage: python3 pylibmc_client.py PORT
"""
import sys

import pylibmc

port = int(sys.argv[1])
mc = pylibmc.Client([f"127.0.0.1:{port}"], binary=True, behaviors={"cas": True, "tcp_nodelay": True})


def raises(name, exc, fn, *args):
    try:
        fn(*args)
    except exc:
        return
    raise AssertionError(f"{name}: expected {exc.__name__}")


def check(name, got, want):
    if got != want:
        raise AssertionError(f"{name}: got {got!r}, want {want!r}")


# set / get / delete, str and bytes values, flags via pylibmc's own types
check("set", mc.set("s", "hello"), True)
check("get", mc.get("s"), "hello")
blob = bytes(range(256))
check("set bytes", mc.set("b", blob), True)
check("get bytes", mc.get("b"), blob)
check("set int", mc.set("i", 42), True)  # pylibmc stores ints with a flag
check("get int", mc.get("i"), 42)
check("set obj", mc.set("o", {"a": [1, 2]}), True)  # pickled, with a flag
check("get obj", mc.get("o"), {"a": [1, 2]})
check("delete", mc.delete("s"), True)
check("get deleted", mc.get("s"), None)
check("delete missing", mc.delete("s"), False)

# add / replace
check("add new", mc.add("a", "1"), True)
check("add existing", mc.add("a", "2"), False)
check("replace", mc.replace("a", "3"), True)
raises("replace missing", pylibmc.NotFound, mc.replace, "nope", "3")  # binary 0x0001
check("get replaced", mc.get("a"), "3")

# incr / decr
mc.set("n", "10")
check("incr", mc.incr("n", 5), 15)
check("decr", mc.decr("n", 20), 0)
check("incr wraps", (mc.set("w", "18446744073709551615"), mc.incr("w", 2))[1], 1)
try:
    mc.incr("missing-counter", 1)
    raise AssertionError("incr on a missing key must fail")
except pylibmc.NotFound:
    pass
mc.set("t", "abc")
try:
    mc.incr("t", 1)
    raise AssertionError("incr on a non-number must fail")
except pylibmc.Error:
    pass

# append / prepend
mc.set("ap", "mid")
check("append", mc.append("ap", "-end"), True)
check("prepend", mc.prepend("ap", "start-"), True)
check("get appended", mc.get("ap"), "start-mid-end")

# touch
check("touch", mc.touch("ap", 100), True)
check("touch missing", mc.touch("nope", 100), False)

# set_multi / get_multi (GETKQ ... NOOP in binary mode)
failed = mc.set_multi({"m1": "one", "m2": "two", "m3": b"\x00\xff"})
check("set_multi", failed, [])
check("get_multi", mc.get_multi(["m1", "m2", "m3", "missing"]), {"m1": "one", "m2": "two", "m3": b"\x00\xff"})
check("delete_multi", mc.delete_multi(["m1", "m2"]), True)
check("get_multi after delete", mc.get_multi(["m1", "m2", "m3"]), {"m3": b"\x00\xff"})

# cas
mc.set("c", "v1")
value, cas = mc.gets("c")
check("gets", value, "v1")
check("cas ok", mc.cas("c", "v2", cas), True)
check("cas stale", mc.cas("c", "v3", cas), False)
check("after cas", mc.get("c"), "v2")

# binary-safe keys are not allowed by libmemcached's key checks in binary mode? keys with high bytes
check("utf-8 key", mc.set("clé", "x"), True)
check("utf-8 key get", mc.get("clé"), "x")

# stats, flush
stats = mc.get_stats()
check("stats servers", len(stats), 1)
check("flush", mc.flush_all(), True)
check("get after flush", mc.get("a"), None)

print("OK")
