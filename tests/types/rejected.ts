// Uses of the client that must NOT type-check against pulse-demo's generated channel types: each
// line after an `// error:` comment must have a type error containing that text.
import { connect } from "@pulse/client";
import { usePulseChannel } from "@pulse/client/react";
import type { Channels } from "@pulse/channels";

export async function wrong(url: string) {
  const connection = connect<Channels>(url);
  const room = connection.channel("room:42", { username: "ada" });
  // error: is not assignable to type 'string'
  room.emit("message", { text: 42 });
  // error: Argument of type '"mesage"' is not assignable
  room.emit("mesage", { text: "hi" });
  // error: Property 'txt' does not exist
  room.on("new_message", (message) => message.txt);
  const posted = await room.request("message", { text: "hi" });
  // error: Type 'string' is not assignable to type 'number'
  const at: number = posted.at;
  // error: is not assignable to type 'string'
  connection.channel("room:43", { username: 7 });
  return at;
}

export function WrongHook() {
  usePulseChannel<Channels, "chat">("chat", {
    onMessage: (event, payload) => {
      // error: This comparison appears to be unintentional
      if (event === "message") return payload;
      return undefined;
    },
  });
  // error: Argument of type '"room:1"' is not assignable
  usePulseChannel<Channels, "chat">("room:1");
}
