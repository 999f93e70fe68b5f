/** Sample lines of a Prometheus text page, `name{labels}` to value. */
export function samples(page: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of page.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const at = line.lastIndexOf(" ");
    out.set(line.slice(0, at), line.slice(at + 1));
  }
  return out;
}
