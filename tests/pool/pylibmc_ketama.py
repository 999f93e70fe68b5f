"""pylibmc (libmemcached) with consistent hashing over a pool of servers.

Usage: python3 pylibmc_ketama.py set|get ketama|ketama_weighted COUNT PORT...
  set: stores COUNT keys; get: reads them back. Prints {"stored"|"hits": N} as JSON.
  ketama_weighted places keys as twemproxy's `hash: md5, distribution: ketama` does.
"""
import json
import sys

import pylibmc

mode, hashing, count, ports = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4:]
behaviors = {"ketama": True, "ketama_weighted": hashing == "ketama_weighted"}
mc = pylibmc.Client([f"127.0.0.1:{p}" for p in ports], behaviors=behaviors)
keys = [f"pool:key:{i}" for i in range(count)]
if mode == "set":
    failed = mc.set_multi({k: "value of " + k for k in keys})
    print(json.dumps({"stored": count - len(failed)}))
else:
    got = mc.get_multi(keys)
    print(json.dumps({"hits": sum(1 for k in keys if got.get(k) == "value of " + k)}))
