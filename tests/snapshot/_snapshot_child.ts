/**
 * A process holding a snapshot file, for the lock, permission and
 * kill-while-writing tests:
 *
 * - `open PATH`: opens (locks) PATH, prints `open`, waits for stdin to close.
 * - `write PATH ITEMS`: opens PATH, writes ITEMS items of 1 KiB in 64 KiB
 *   slices; after 20 slices (over 1 MiB on disk) prints `writing` and waits
 *   for stdin to close (the test kills it there).
 *
 * Errors print one line `mbserver: <message>` and exit 1, as main.ts does.
 *
 * @module
 */
import { SnapshotFile } from "../../lib/snapshot/snapshot_file.ts";
import { MapSnapshotStore } from "../_support/map_snapshot_store.ts";

async function waitForStdin(): Promise<void> {
  const buf = new Uint8Array(1);
  while ((await Deno.stdin.read(buf)) !== null) {
    // until the parent closes it
  }
}

const [mode, path, count] = Deno.args;
let file: SnapshotFile;
try {
  file = SnapshotFile.open(path);
} catch (err) {
  console.error(`mbserver: ${(err as Error).message}`);
  Deno.exit(1);
}
if (mode === "open") {
  console.log("open");
  await waitForStdin();
} else {
  const store = new MapSnapshotStore();
  for (let i = 0; i < Number(count); i++) store.set(`new-${i}`, new Uint8Array(1024).fill(i));
  let slices = 0;
  await file.save(store, {
    now: Date.now(),
    sliceBytes: 64 * 1024,
    share: async (fn) => {
      if (slices++ === 20) {
        console.log("writing");
        await waitForStdin();
      }
      return fn();
    },
  });
  console.log("written");
}
await file.close();
