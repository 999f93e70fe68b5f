/**
 * The README's first commands pin the Deno version CI uses (`.ci/run` reads
 * it from the `task test` line); everything else must agree with them.
 */
import assert from "node:assert/strict";

const README = new URL("../README.md", import.meta.url);
const CI_RUN = new URL("../.ci/run", import.meta.url);

/** The version in the README's `npx -y deno@X.Y.Z task test` line. */
function pinnedVersion(readme: string): string {
  const pinned = /^npx -y deno@(\d+\.\d+\.\d+) task test/m.exec(readme)?.[1];
  assert.ok(pinned, "README.md has a line starting `npx -y deno@X.Y.Z task test`");
  return pinned;
}

Deno.test("README names one Deno version, the one its test command pins", async () => {
  const readme = await Deno.readTextFile(README);
  const pinned = pinnedVersion(readme);
  const named = [...readme.matchAll(/deno[@ ](\d+\.\d+\.\d+)/gi)].map((match) => match[1]);
  assert.ok(named.length > 1);
  assert.deepEqual(named.filter((version) => version !== pinned), []);
});

Deno.test(".ci/run takes the Deno version from the README instead of naming one", async () => {
  const ci = await Deno.readTextFile(CI_RUN);
  assert.deepEqual(ci.match(/deno@\d/g), null);
  assert.match(ci, /npx -y "deno@\$deno_version"/);
  if (Deno.env.get("CI")) {
    assert.equal(Deno.version.deno, pinnedVersion(await Deno.readTextFile(README)));
  }
});
