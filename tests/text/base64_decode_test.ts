import assert from "node:assert/strict";
import { base64Decode } from "../../lib/text/base64_decode.ts";
import { prng } from "../_support/prng.ts";

Deno.test("base64Decode reverses btoa for every byte value and random binary keys", () => {
  for (let a = 0; a < 256; a++) {
    const one = String.fromCharCode(a);
    assert.equal(base64Decode(btoa(one)), one);
    for (let b = 0; b < 256; b += 17) {
      const three = one + String.fromCharCode(b) + String.fromCharCode(255 - a);
      assert.equal(base64Decode(btoa(three)), three);
    }
  }
  const rand = prng(9);
  for (let i = 0; i < 2000; i++) {
    let key = "";
    const length = 1 + Math.floor(rand() * 250);
    for (let j = 0; j < length; j++) key += String.fromCharCode(Math.floor(rand() * 256));
    assert.equal(base64Decode(btoa(key)), key);
  }
});

Deno.test("base64Decode skips characters outside the alphabet and refuses bad lengths", () => {
  assert.equal(base64Decode("bT\x01E="), "m1");
  assert.equal(base64Decode("bTE"), undefined);
  assert.equal(base64Decode(""), undefined);
  assert.equal(base64Decode("===="), undefined);
});
