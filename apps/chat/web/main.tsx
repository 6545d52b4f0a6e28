// The chat page: rooms (room:NAME), a name, the room's history and live messages, who is online.
import { type FormEvent, StrictMode, useCallback, useEffect, useRef, useState } from "react";
import { createRoot } from "react-dom/client";
import type { ChannelBridge, MessageOf } from "@pulse/client";
import { usePulseChannel } from "@pulse/client/react";
import type { Channels } from "@pulse/channels";

type Room = Channels["room:*"];
type Message = Room["out"]["new_message"];

const MAX_CHARS = 4000;
const params = new URLSearchParams(location.search);
const initialRoom = cleanRoom(params.get("room")) || "lobby";

function cleanRoom(name: string | null): string {
  return (name ?? "").trim().toLowerCase().replace(/[^a-z0-9_-]+/g, "-").slice(0, 40);
}

function Chat() {
  const [room, setRoom] = useState(initialRoom);
  const [name, setName] = useState(() => localStorage.getItem("pulse.username") ?? "");
  const [joinedName, setJoinedName] = useState(name.trim());
  const [passcode, setPasscode] = useState("");
  const [joinedPasscode, setJoinedPasscode] = useState("");
  const isPrivate = room.startsWith("private-");
  const [messages, setMessages] = useState<Message[]>([]);
  const [text, setText] = useState("");
  const [error, setError] = useState<string | null>(null);
  const pending = useRef<string | null>(null); // a message typed under a new name: sent once rejoined
  const list = useRef<HTMLUListElement>(null);

  const onMessage = useCallback((...[event, payload]: MessageOf<Room>) => {
    if (event === "new_message") setMessages((all) => [...all, payload]);
  }, []);
  const { channel, status, joinError, presence } = usePulseChannel<Channels, "room:*">(`room:${room}`, {
    params: isPrivate ? { username: joinedName, passcode: joinedPasscode } : { username: joinedName },
    onMessage,
    presence: true,
  });

  // Each join brings the room's recent history, unless it recovered what it missed (then the
  // missed messages arrive as ordinary events and what is shown stays).
  useEffect(() => {
    if (!channel) return undefined;
    return channel.onJoin((response: { recovered?: boolean; history?: Message[] }) => {
      if (response.recovered !== true) setMessages(response.history ?? []);
    });
  }, [channel]);

  useEffect(() => {
    if (status !== "joined" || !pending.current || !channel) return;
    const message = pending.current;
    pending.current = null;
    send(channel, message);
  }, [status, channel]);

  useEffect(() => {
    list.current?.lastElementChild?.scrollIntoView({ block: "end" });
  }, [messages]);

  function send(target: ChannelBridge<Room>, message: string) {
    target.request("message", { text: message }).then(
      () => setError(null),
      (failure: { reason?: string; message?: string }) =>
        setError(failure.reason ?? failure.message ?? "not sent"));
  }

  function submit(event: FormEvent) {
    event.preventDefault();
    const message = text.trim();
    if (!message) return; // nothing to say: nothing sent
    if ([...message].length > MAX_CHARS) {
      setError(`message is longer than ${MAX_CHARS} characters`);
      return;
    }
    setText("");
    const wanted = name.trim();
    localStorage.setItem("pulse.username", wanted);
    if (wanted !== joinedName) {
      pending.current = message; // joins again under the new name first
      setJoinedName(wanted);
    } else if (channel) {
      send(channel, message);
    }
  }

  function changeRoom(next: string) {
    const cleaned = cleanRoom(next);
    if (!cleaned || cleaned === room) return;
    history.pushState(null, "", `?room=${encodeURIComponent(cleaned)}`);
    setMessages([]);
    setRoom(cleaned);
  }

  const online = presence.map(({ key, metas }) => (metas.length > 1 ? `${key} (${metas.length})` : key));
  return (
    <div className="chat">
      <header>
        <h1><a href="/">Pulse</a> chat</h1>
        <RoomPicker room={room} onPick={changeRoom} />
        <span className={`status ${status}`} data-testid="status">{status}</span>
      </header>
      <p className="online" data-testid="online">
        {online.length ? `Online: ${online.join(", ")}` : "Nobody online yet"}
      </p>
      {isPrivate && (
        <form className="passcode" onSubmit={(e) => { e.preventDefault(); setJoinedPasscode(passcode); }}>
          <input type="password" value={passcode} onChange={(e) => setPasscode(e.target.value)}
                 placeholder="Passcode" aria-label="Passcode" />
          <button type="submit">Enter</button>
        </form>
      )}
      {joinError && <p className="error" role="alert">Could not join: {joinError.reason}</p>}
      <ul className="messages" ref={list} data-testid="messages">
        {messages.map((m, i) => (
          <li key={`${m.at}-${i}`} title={m.at}>
            <b>{m.username}</b>: {m.text}
          </li>
        ))}
      </ul>
      {error && <p className="error" role="alert">{error}</p>}
      <form onSubmit={submit}>
        <input value={name} onChange={(e) => setName(e.target.value)} placeholder="Your name"
               maxLength={32} autoComplete="nickname" />
        <input value={text} onChange={(e) => setText(e.target.value)} placeholder="Type a message..."
               className="text" />
        <button type="submit">Send</button>
      </form>
    </div>
  );
}

function RoomPicker({ room, onPick }: { room: string; onPick: (room: string) => void }) {
  const [draft, setDraft] = useState("");
  const rooms = ["lobby", "random", "help"];
  return (
    <form className="rooms" onSubmit={(e) => { e.preventDefault(); onPick(draft); setDraft(""); }}>
      <select value={rooms.includes(room) ? room : ""} onChange={(e) => onPick(e.target.value)}
              aria-label="Room">
        {!rooms.includes(room) && <option value="">#{room}</option>}
        {rooms.map((r) => <option key={r} value={r}>#{r}</option>)}
      </select>
      <input value={draft} onChange={(e) => setDraft(e.target.value)} placeholder="Other room"
             aria-label="Other room" />
    </form>
  );
}

createRoot(document.getElementById("root")!).render(<StrictMode><Chat /></StrictMode>);
