/**
 * Several instances: three `main.ts` processes behind twemproxy
 * (`nutcracker`, ketama), and pylibmc's ketama client over the same kind of
 * pool.
 */
import assert from "node:assert/strict";
import { stop } from "../_support/child_server.ts";
import { NUTCRACKER, PYLIBMC, testWithTools } from "../_support/tools.ts";
import { type MainProcess, startMain } from "../hardening/_main_process.ts";
import { currItems, heldKeys, type Outcome, startProxy, tally, TextClient } from "./_pool.ts";

const KEYS = Array.from({ length: 3000 }, (_, i) => `pool:key:${i}`);
const valueOf = (key: string) => `value of ${key}`;
const SCRIPT = new URL("./pylibmc_ketama.py", import.meta.url).pathname;

/** Starts `n` instances; they are killed when the returned stack is disposed. */
async function startInstances(n: number, stack: AsyncDisposableStack): Promise<MainProcess[]> {
  const instances = await Promise.all(Array.from({ length: n }, () => startMain([])));
  for (const instance of instances) stack.use(instance);
  return instances;
}

/** Asserts each instance holds 15–55 % of the keys and together all of them. */
async function assertSpread(instances: MainProcess[]): Promise<number[]> {
  const counts = await Promise.all(instances.map((i) => currItems(i.port)));
  assert.equal(counts.reduce((a, b) => a + b), KEYS.length, `curr_items ${counts}`);
  for (const count of counts) {
    assert.ok(count >= 0.15 * KEYS.length && count <= 0.55 * KEYS.length, `curr_items ${counts}`);
  }
  return counts;
}

const every = (outcomes: Outcome[], want: Outcome) =>
  assert.deepEqual(tally(outcomes), { [want]: outcomes.length });

testWithTools(
  "Three instances behind twemproxy (ketama): 3,000 keys spread 15–55 % each; " +
    "one stopped with SIGTERM fails requests only until ejected, then every set and get succeeds",
  [NUTCRACKER],
  async () => {
    await using stack = new AsyncDisposableStack();
    const instances = await startInstances(3, stack);
    // A long retry timeout: the stopped instance is not tried again during the test.
    await using proxy = await startProxy({
      ports: instances.map((i) => i.port),
      retryTimeoutMs: 60_000,
      failureLimit: 1,
    });
    await using client = await TextClient.connect(proxy.port);
    every(await client.set(KEYS, valueOf), "stored");
    every(await client.get(KEYS, valueOf), "hit");
    await assertSpread(instances);

    const [survivor0, survivor1, victim] = instances;
    const moved = [...await heldKeys(victim.port, KEYS)];
    await stop(victim.child, "SIGTERM");
    assert.equal((await victim.child.status).code, 0);
    // Until the proxy ejects it, requests for its keys may fail; one at a time, at most
    // `failureLimit` of them.
    const errors: Outcome[] = [];
    for (const key of moved) {
      const [outcome] = await client.get([key], valueOf);
      if (!outcome.startsWith("error")) break;
      errors.push(outcome);
    }
    assert.ok(errors.length <= 1, `errors before the ejection: ${errors}`);
    assert.ok(errors.length < moved.length, "the proxy never ejected the stopped instance");

    every(await client.set(KEYS, valueOf), "stored");
    every(await client.get(KEYS, valueOf), "hit");
    const counts = await Promise.all([survivor0, survivor1].map((i) => currItems(i.port)));
    assert.equal(counts[0] + counts[1], KEYS.length, `survivors' curr_items ${counts}`);
  },
);

testWithTools(
  "Rolling restart behind twemproxy with -e: each instance stopped (SIGTERM) and started again " +
    "in turn; afterwards at least 99 % of 3,000 keys still hit",
  [NUTCRACKER],
  async () => {
    await using stack = new AsyncDisposableStack();
    const dirs = await Promise.all(
      [0, 1, 2].map(() => Deno.makeTempDir({ prefix: "mbserver-roll-" })),
    );
    stack.defer(async () => {
      for (const dir of dirs) await Deno.remove(dir, { recursive: true });
    });
    const start = (i: number, port?: number) =>
      startMain(["-e", `${dirs[i]}/cache.snapshot`], {
        port,
        denoFlags: [`--allow-read=${dirs[i]}`, `--allow-write=${dirs[i]}`],
      });
    const instances = await Promise.all([0, 1, 2].map((i) => start(i)));
    for (const instance of instances) stack.use(instance);
    // A short retry timeout: a restarted instance rejoins within a second.
    await using proxy = await startProxy({
      ports: instances.map((i) => i.port),
      retryTimeoutMs: 1000,
      failureLimit: 1,
    });
    await using client = await TextClient.connect(proxy.port);
    every(await client.set(KEYS, valueOf), "stored");
    await assertSpread(instances);

    for (let i = 0; i < instances.length; i++) {
      const owned = [...await heldKeys(instances[i].port, KEYS)].slice(0, 20);
      await stop(instances[i].child, "SIGTERM");
      assert.equal((await instances[i].child.status).code, 0);
      instances[i] = stack.use(await start(i, instances[i].port));
      // Until the proxy tries it again, its keys miss (or fail); then they hit.
      const deadline = Date.now() + 30_000;
      let last: Outcome[] = [];
      while (Date.now() < deadline) {
        last = await client.get(owned, valueOf);
        if (last.every((o) => o === "hit")) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      assert.deepEqual(tally(last), { hit: owned.length }, `instance ${i} rejoined`);
    }
    const hits = (await client.get(KEYS, valueOf)).filter((o) => o === "hit").length;
    assert.ok(hits >= 0.99 * KEYS.length, `${hits} of ${KEYS.length} keys hit`);
  },
);

/** Runs the pylibmc script; returns its JSON answer. */
async function pylibmc(args: (string | number)[]): Promise<Record<string, number>> {
  const out = await new Deno.Command(PYLIBMC.command, {
    args: [SCRIPT, ...args.map(String)],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stderr = new TextDecoder().decode(out.stderr);
  assert.equal(out.code, 0, `pylibmc script failed: ${stderr}`);
  return JSON.parse(new TextDecoder().decode(out.stdout));
}

testWithTools(
  "pylibmc with ketama spreads 3,000 keys over three instances (15–55 % each), reads them back; " +
    "without one instance, only its keys miss",
  [PYLIBMC],
  async () => {
    await using stack = new AsyncDisposableStack();
    const instances = await startInstances(3, stack);
    const ports = instances.map((i) => i.port);
    assert.deepEqual(await pylibmc(["set", "ketama", KEYS.length, ...ports]), { stored: 3000 });
    assert.deepEqual(await pylibmc(["get", "ketama", KEYS.length, ...ports]), { hits: 3000 });
    const counts = await assertSpread(instances);
    assert.deepEqual(
      await pylibmc(["get", "ketama", KEYS.length, ports[0], ports[1]]),
      { hits: counts[0] + counts[1] },
    );
  },
);

testWithTools(
  "pylibmc (ketama_weighted) and twemproxy (hash: md5, ketama, unnamed servers) place every key alike",
  [PYLIBMC, NUTCRACKER],
  async () => {
    await using stack = new AsyncDisposableStack();
    const instances = await startInstances(3, stack);
    const ports = instances.map((i) => i.port);
    assert.deepEqual(
      await pylibmc(["set", "ketama_weighted", KEYS.length, ...ports]),
      { stored: 3000 },
    );
    await using proxy = await startProxy({
      ports,
      named: false,
      retryTimeoutMs: 60_000,
      failureLimit: 1,
    });
    await using client = await TextClient.connect(proxy.port);
    every(await client.get(KEYS, valueOf), "hit");
  },
);
