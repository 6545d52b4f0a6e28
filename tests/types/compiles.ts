// Uses of the client that must type-check against pulse-demo's generated channel types.
import { connect } from "@pulse/client";
import { usePulseChannel } from "@pulse/client/react";
import type { Channels } from "@pulse/channels";

export async function typed(url: string) {
  const connection = connect<Channels>(url);
  const room = connection.channel("room:42", { username: "ada" });
  room.on("new_message", (message) => {
    const text: string = message.text;
    const at: string = message.at;
    return [text, at];
  });
  const posted = await room.request("message", { text: "hi" });
  const at: string = posted.at;
  room.onMessage((event, payload) => {
    if (event === "new_message") {
      const who: string = payload.username; // narrowed by the event
      return who;
    }
    return undefined;
  });
  const alerts = connection.channel("notifications");
  alerts.emit("new_alert", { message: "disk full" });
  alerts.emit("new_alert", {}); // a missing field takes the server's default
  alerts.on("alert", (alert) => alert.time.length);
  // A channel without declared events stays open.
  const dashboard = connection.channel("dashboard");
  dashboard.on("anything", (payload) => payload);
  return at;
}

export function Hooked() {
  const { channel } = usePulseChannel<Channels, "chat">("chat", {
    onMessage: (event, payload) => {
      if (event === "new_message") return payload.username.toUpperCase();
      return undefined;
    },
  });
  return channel?.request("message", { username: "ada", text: "hi" });
}

export function untyped(url: string) {
  const connection = connect(url); // no types: anything goes, as before
  const channel = connection.channel("whatever:1", { any: 1 });
  channel.on("event", (payload) => payload.anything);
  return channel.request("x", { y: 2 });
}
