/**
 * Wire tests of the text and meta protocols: exact bytes in, exact bytes
 * out. Each case runs on a fresh server; the same table is checked against
 * real memcached 1.6.18 when it is installed, so the expectations are
 * memcached's own answers.
 */
import assert from "node:assert/strict";
import { startServer } from "../../lib/mod.ts";
import { startMemcached } from "../_support/memcached.ts";
import { RawClient } from "../_support/raw_client.ts";
import { MEMCACHED, testWithTools } from "../_support/tools.ts";

interface Case {
  name: string;
  send: string;
  expect: string;
  /** The server closes the connection after the reply. */
  closes?: boolean;
}

const K251 = "k".repeat(251);

const CASES: Case[] = [
  {
    name: "set, get, gets of several keys",
    send: "set a 5 0 3\r\nabc\r\nset b 0 0 0\r\n\r\nget a b c\r\ngets a\r\n",
    expect: "STORED\r\nSTORED\r\nVALUE a 5 3\r\nabc\r\nVALUE b 0 0\r\n\r\nEND\r\n" +
      "VALUE a 5 3 1\r\nabc\r\nEND\r\n",
  },
  {
    name: "add, replace, append, prepend",
    send: "add a 0 0 1\r\nx\r\nadd a 0 0 1\r\ny\r\nreplace b 0 0 1\r\ny\r\n" +
      "append a 0 0 2\r\n12\r\nprepend a 0 0 2\r\n00\r\nappend b 0 0 1\r\n1\r\nget a\r\n",
    expect: "STORED\r\nNOT_STORED\r\nNOT_STORED\r\nSTORED\r\nSTORED\r\nNOT_STORED\r\n" +
      "VALUE a 0 5\r\n00x12\r\nEND\r\n",
  },
  {
    name: "cas: missing, stale, matching",
    send: "cas a 0 0 1 1\r\nx\r\nset a 0 0 1\r\nx\r\ncas a 0 0 1 9\r\ny\r\n" +
      "cas a 0 0 1 1\r\ny\r\ngets a\r\n",
    expect: "NOT_FOUND\r\nSTORED\r\nEXISTS\r\nSTORED\r\nVALUE a 0 1 2\r\ny\r\nEND\r\n",
  },
  {
    name: "noreply on every storage command, then a visible get",
    send: "set a 0 0 1 noreply\r\n1\r\nadd a 0 0 1 noreply\r\n2\r\n" +
      "append a 0 0 1 noreply\r\n3\r\nincr a 1 noreply\r\ndelete b noreply\r\nget a\r\n",
    expect: "VALUE a 0 2\r\n14\r\nEND\r\n",
  },
  {
    name: "incr wraps at 2^64, decr stops at 0 and pads in place",
    send: "set n 0 0 20\r\n18446744073709551615\r\nincr n 1\r\nset m 0 0 2\r\n10\r\n" +
      "decr m 100\r\nget m\r\nincr x 1\r\nset s 0 0 1\r\na\r\nincr s 1\r\nincr s -1\r\n",
    expect: "STORED\r\n0\r\nSTORED\r\n0\r\nVALUE m 0 2\r\n0 \r\nEND\r\nNOT_FOUND\r\nSTORED\r\n" +
      "CLIENT_ERROR cannot increment or decrement non-numeric value\r\n" +
      "CLIENT_ERROR invalid numeric delta argument\r\n",
  },
  {
    name: "delete and its argument rules",
    send:
      "set a 0 0 1\r\nx\r\ndelete a 0\r\ndelete a\r\ndelete a 1\r\ndelete a 0 noreply\r\nmn\r\n",
    expect: "STORED\r\nDELETED\r\nNOT_FOUND\r\n" +
      "CLIENT_ERROR bad command line format.  Usage: delete <key> [noreply]\r\nMN\r\n",
  },
  {
    name: "touch, gat, gats",
    send: "touch a 10\r\nset a 3 0 1\r\nx\r\ntouch a 0\r\ntouch a x\r\ngat 0 a\r\ngats 0 a b\r\n" +
      "gat x a\r\n",
    expect: "NOT_FOUND\r\nSTORED\r\nTOUCHED\r\nCLIENT_ERROR invalid exptime argument\r\n" +
      "VALUE a 3 1\r\nx\r\nEND\r\nVALUE a 3 1 1\r\nx\r\nEND\r\n" +
      "CLIENT_ERROR invalid exptime argument\r\n",
  },
  {
    name: "flush_all forms",
    send: "set a 0 0 1\r\nx\r\nflush_all\r\nget a\r\nflush_all 0\r\nflush_all noreply\r\n" +
      "flush_all x\r\nflush_all 1 2 3\r\nmn\r\n",
    expect: "STORED\r\nOK\r\nEND\r\nOK\r\nCLIENT_ERROR invalid exptime argument\r\nERROR\r\nMN\r\n",
  },
  {
    name: "bad data chunk, then the rest of the stream is read as commands",
    send: "set a 0 0 3\r\nfoox\r\nget a\r\nset a 0 0 1 noreply\r\nabc\r\nmn\r\n",
    expect: "CLIENT_ERROR bad data chunk\r\nERROR\r\nEND\r\nERROR\r\nMN\r\n",
  },
  {
    name: "bad numbers and lengths: no data block is read",
    send: "set a 0 0 -1\r\nfoo\r\nset a x 0 1\r\nset a 0 0 4294967295\r\nset a 0 0 1 2 3\r\n" +
      "set a -1 0 1\r\n",
    expect: "CLIENT_ERROR bad command line format\r\nERROR\r\n" +
      "CLIENT_ERROR bad command line format\r\nCLIENT_ERROR bad command line format\r\n" +
      "ERROR\r\nCLIENT_ERROR bad command line format\r\n",
  },
  {
    name: "a length that overflows int32 wraps as memcached's safe_strtol does",
    send: "set a 0 0 4294967297\r\nfoo\r\n",
    expect: "CLIENT_ERROR bad data chunk\r\nERROR\r\n",
  },
  {
    name: "a value too large is swallowed and the old value dropped",
    send: "set big 0 0 1\r\nx\r\nset big 0 0 2000000\r\n" + "z".repeat(2000000) +
      "\r\nget big\r\n",
    expect: "STORED\r\nSERVER_ERROR object too large for cache\r\nEND\r\n",
  },
  {
    name: "keys over 250 bytes",
    send: `set a 0 0 1\r\nx\r\nget a ${K251} a\r\nset ${K251} 0 0 1\r\nx\r\n` +
      `delete ${K251}\r\nincr ${K251} 1\r\ntouch ${K251} 1\r\nmg ${K251} v\r\n`,
    // A get with a long key drops every reply not yet sent, STORED included.
    expect: "CLIENT_ERROR bad command line format\r\n" +
      "CLIENT_ERROR bad command line format\r\nERROR\r\n" +
      "CLIENT_ERROR bad command line format\r\n".repeat(4),
  },
  {
    name: "unknown and malformed commands",
    send: "bogus\r\n\r\nGET foo\r\nget\r\nverbosity\r\nverbosity 1\r\nverbosity 1 noreply\r\n" +
      "cache_memlimit x\r\ncache_memlimit 2\r\ncache_memlimit 2000000000\r\n" +
      "shutdown\r\nstats nope\r\nstats reset\r\nmz\r\n",
    expect: "ERROR\r\nERROR\r\nERROR\r\nERROR\r\nERROR\r\nOK\r\nERROR\r\n" +
      "MEMLIMIT_TOO_SMALL cannot set maxbytes to less than 8m\r\n" +
      "MEMLIMIT_ADJUST_FAILED input value is megabytes not bytes\r\n" +
      "ERROR: shutdown not enabled\r\nERROR\r\nRESET\r\nERROR\r\n",
  },
  {
    name: "an HTTP request line closes the connection silently",
    send: "GET / HTTP/1.1\r\nHost: x\r\n\r\n",
    expect: "",
    closes: true,
  },
  {
    name: "quit closes the connection",
    send: "quit\r\nversion\r\n",
    expect: "",
    closes: true,
  },
  {
    name: "mn, mg miss and hit with flags in request order",
    send: "mg a v\r\nmg a v q k\r\nmg a k Oxy\r\nms a 2 F9 T0 c k Oop\r\nhi\r\n" +
      "mg a s v f c k t h Oq\r\nmg a h\r\nmg a q\r\nmn\r\n",
    expect:
      "EN\r\nEN ka Oxy\r\nHD c1 ka Oop\r\nVA 2 s2 f9 c1 ka t-1 h0 Oq\r\nhi\r\nHD h1\r\nHD\r\n" +
      "MN\r\n",
  },
  {
    name: "malformed meta flags",
    send: "mg foo m o o o\r\nmg foo T\r\nmg foo k k\r\nmg foo E5\r\n" +
      "mg foo O123456789012345678901234567890123\r\nmg\r\nms foo\r\nms foo 2 Zbad\r\nab\r\n" +
      "ms foo xx\r\nab\r\nms foo 2 MX\r\nab\r\nms foo 2 MEE\r\nab\r\nmd foo x\r\nma foo Mx\r\n" +
      "me\r\n",
    expect: "CLIENT_ERROR invalid flag\r\nCLIENT_ERROR bad token in command line format\r\n" +
      "CLIENT_ERROR duplicate flag\r\nCLIENT_ERROR invalid flag\r\n" +
      "CLIENT_ERROR opaque token too long\r\nERROR\r\nCLIENT_ERROR bad command line format\r\n" +
      "CLIENT_ERROR invalid flag\r\nCLIENT_ERROR bad command line format\r\nERROR\r\n" +
      "CLIENT_ERROR invalid mode for ms M token\r\nCLIENT_ERROR incorrect length for M token\r\n" +
      "CLIENT_ERROR invalid or duplicate flag\r\nCLIENT_ERROR invalid mode for ma M token\r\n" +
      "CLIENT_ERROR bad command line format\r\n",
  },
  {
    name: "ms modes, CAS and noreply",
    send: "ms a 2 MS\r\nab\r\nms a 2 ME c\r\nab\r\nms a 2 MA q\r\ncd\r\nms a 2 MP k\r\nzz\r\n" +
      "mg a v s\r\nms a 1 C99 c\r\nx\r\nms a 1 C3 c\r\nx\r\nms b 1 MR\r\nx\r\nms b 1 C1\r\nx\r\n" +
      "ms a 2 q\r\nabc\r\nmn\r\n",
    expect: "HD\r\nNS c0\r\nHD ka\r\nVA 6 s6\r\nzzabcd\r\nEX c0\r\nHD c4\r\nNS\r\nNF\r\n" +
      "CLIENT_ERROR bad data chunk\r\nERROR\r\nMN\r\n",
  },
  {
    name: "base64 keys",
    send: "ms bTE= 2 b k c\r\nab\r\nmg bTE= b k v\r\nmg m1 k s\r\nget m1\r\nmg YWI= b k\r\n" +
      "md bTE= b k q\r\nmg m1\r\nmg m1 b\r\n",
    expect:
      "HD kbTE= b c1\r\nVA 2 kbTE= b\r\nab\r\nHD kbTE= b s2\r\nVALUE m1 0 2\r\nab\r\nEND\r\n" +
      "EN kYWI= b\r\nEN\r\nCLIENT_ERROR error decoding key\r\n",
  },
  {
    name: "md with CAS, invalidation and the win/stale flags",
    send: "ms a 1 T0\r\nx\r\nmd a C9\r\nmd a I T0\r\nmg a c v\r\nmg a c\r\nms a 1 C1 I\r\ny\r\n" +
      "mg a v\r\nmd a q\r\nmd a q\r\nmn\r\n",
    expect:
      "HD\r\nEX\r\nHD\r\nVA 1 c2 X W\r\nx\r\nHD c2 Z X\r\nHD\r\nVA 1 Z X\r\ny\r\nNF\r\nMN\r\n",
  },
  {
    name: "mg vivify (N) and recache (R) wins",
    send: "mg v N30 s c v\r\nmg v N30 c\r\nms r 1 T100\r\n1\r\nmg r R200 v\r\nmg r R200\r\n",
    expect: "VA 0 s0 c1 W\r\n\r\nHD c1 Z\r\nHD\r\nVA 1 W\r\n1\r\nHD Z\r\n",
  },
  {
    name: "ma increments, decrements, vivifies and checks CAS",
    send: "ma n\r\nma n q\r\nma n N0 J10 v\r\nma n v D5 t c k O1\r\nma n MD D100 v\r\n" +
      "ma n M+ v D3\r\nma n q\r\nma n C1\r\nma n Dx\r\nmg n v\r\n",
    expect:
      "NF\r\nNF\r\nVA 2\r\n10\r\nVA 2 t-1 c2 kn O1\r\n15\r\nVA 1\r\n0\r\nVA 1\r\n3\r\nEX\r\n" +
      "CLIENT_ERROR invalid or duplicate flag\r\nVA 2\r\n4 \r\n",
  },
];

async function run(port: number, c: Case): Promise<void> {
  const client = await RawClient.connect(port);
  try {
    await client.send(c.send);
    if (c.closes) {
      assert.ok(await client.closedByPeer(3000), `${c.name}: expected the server to close`);
      assert.equal(new TextDecoder("latin1").decode(client.pending), c.expect, c.name);
      return;
    }
    const got = await client.readExact(c.expect.length);
    assert.equal(new TextDecoder().decode(got), c.expect, c.name);
    // Nothing more arrives.
    await client.send("mn\r\n");
    assert.equal(await client.readLine(), "MN\r\n", `${c.name}: extra bytes`);
  } finally {
    client.close();
  }
}

for (const c of CASES) {
  Deno.test(`Text protocol on the wire: ${c.name}`, async () => {
    const server = await startServer({ port: 0 });
    try {
      await run(server.port, c);
    } finally {
      await server.close();
    }
  });
}

testWithTools(
  "Text protocol wire expectations are memcached's own answers",
  [MEMCACHED],
  async () => {
    // A fresh memcached per case (CAS values start at 1); they stop slowly, so in parallel.
    await Promise.all(CASES.map(async (c) => {
      await using memcached = await startMemcached(["-o", "no_lru_maintainer,no_lru_crawler"]);
      await run(memcached.port, c).catch((err) => {
        throw new Error(`memcached, case "${c.name}": ${err.message}`);
      });
    }));
  },
);
