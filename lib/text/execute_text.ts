import type { CommandContext } from "../command_context.ts";
import type { Response } from "../messages.ts";
import type { TextRequest } from "./text_request.ts";

/** Runs one text or meta command. (Placeholder: being written.) */
export function executeText(_req: TextRequest, _ctx: CommandContext, out: Response[]): void {
  out.push({ kind: "text", parts: ["ERROR\r\n"] });
}
