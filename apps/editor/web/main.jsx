// The editor page: a document per name (doc:NAME) edited together, with Yjs over the official
// phoenix client and y-phoenix-channel, CodeMirror 6 as the editor, everyone's name, colour and
// cursor from Yjs awareness.
import { StrictMode, useEffect, useRef, useState } from "react";
import { createRoot } from "react-dom/client";
import { Socket } from "phoenix";
import * as Y from "yjs";
import { PhoenixChannelProvider } from "y-phoenix-channel";
import { EditorView, basicSetup } from "codemirror";
import { EditorState, Prec } from "@codemirror/state";
import { keymap } from "@codemirror/view";
import { yCollab, yUndoManagerKeymap } from "y-codemirror.next";

const COLORS = ["#30bced", "#6eeb83", "#ffbc42", "#ee6352", "#9ac2c9", "#8acb88", "#1be7ff", "#c879ff"];
const DOCUMENTS = ["welcome", "notes", "scratch"];
const params = new URLSearchParams(location.search);
const initialDocument = cleanName(params.get("doc")) || "welcome";

function cleanName(name) {
  return (name ?? "").trim().toLowerCase().replace(/[^a-z0-9_-]+/g, "-").slice(0, 40);
}

function remembered(key, make) {
  let value = localStorage.getItem(key);
  if (!value) {
    value = make();
    localStorage.setItem(key, value);
  }
  return value;
}

// One socket for the page; each document is a channel on it.
const socket = new Socket("/socket", { params: {} });
socket.connect();

function Editor() {
  const [doc, setDoc] = useState(initialDocument);
  const [name, setName] = useState(() =>
    remembered("pulse.username", () => `Guest ${Math.floor(100 + Math.random() * 900)}`));
  const [color] = useState(() =>
    remembered("pulse.editor.color", () => COLORS[Math.floor(Math.random() * COLORS.length)]));
  const [status, setStatus] = useState("connecting");
  const [synced, setSynced] = useState(false);
  const [editors, setEditors] = useState([]);
  const host = useRef(null);
  const awarenessRef = useRef(null);

  useEffect(() => {
    const ydoc = new Y.Doc();
    const provider = new PhoenixChannelProvider(socket, `doc:${doc}`, ydoc);
    const { awareness } = provider;
    awarenessRef.current = awareness;
    const ytext = ydoc.getText("codemirror");
    const undoManager = new Y.UndoManager(ytext);
    const view = new EditorView({
      state: EditorState.create({
        doc: ytext.toString(),
        extensions: [basicSetup, EditorView.lineWrapping,
                     Prec.high(keymap.of(yUndoManagerKeymap)), // undo your own edits only
                     yCollab(ytext, awareness, { undoManager })],
      }),
      parent: host.current,
    });
    const showEditors = () => {
      const list = [];
      awareness.getStates().forEach((state, id) => {
        if (state.user) list.push({ id, ...state.user, you: id === ydoc.clientID });
      });
      list.sort((a, b) => (b.you - a.you) || a.name.localeCompare(b.name));
      setEditors(list);
    };
    awareness.on("change", showEditors);
    provider.on("status", ({ status: now }) => setStatus(now));
    provider.on("sync", (isSynced) => setSynced(isSynced));
    setStatus("connecting");
    setSynced(false);
    // For the browser tests, which read the document rather than the screen.
    window.pulseEditor = { text: () => ytext.toString(), clientID: ydoc.clientID };
    return () => {
      awareness.off("change", showEditors);
      view.destroy();
      provider.destroy();
      awareness.destroy();
      ydoc.destroy();
    };
  }, [doc]);

  useEffect(() => {
    awarenessRef.current?.setLocalStateField("user", { name: name.trim() || "Anonymous", color,
                                                        colorLight: `${color}55` });
  }, [name, color, doc]);

  function changeName(value) {
    setName(value);
    localStorage.setItem("pulse.username", value);
  }

  function changeDocument(next) {
    const cleaned = cleanName(next);
    if (!cleaned || cleaned === doc) return;
    history.pushState(null, "", `?doc=${encodeURIComponent(cleaned)}`);
    setDoc(cleaned);
  }

  const shown = status === "connected" ? (synced ? "synced" : "syncing") : status;
  return (
    <div className="editor">
      <header>
        <h1><a href="/">Pulse</a> editor</h1>
        <DocumentPicker doc={doc} onPick={changeDocument} />
        <span className={`status ${shown}`} data-testid="status">{shown}</span>
      </header>
      <div className="me">
        <span className="dot" style={{ background: color }} />
        <input value={name} onChange={(e) => changeName(e.target.value)} maxLength={32}
               placeholder="Your name" aria-label="Your name" autoComplete="nickname" />
      </div>
      <ul className="editors" data-testid="editors" aria-label="Editing now">
        {editors.map((e) => (
          <li key={e.id} style={{ borderColor: e.color }}>
            <span className="dot" style={{ background: e.color }} />
            {e.name}{e.you ? " (you)" : ""}
          </li>
        ))}
      </ul>
      <div className="document" ref={host} data-testid="document" />
    </div>
  );
}

function DocumentPicker({ doc, onPick }) {
  const [draft, setDraft] = useState("");
  return (
    <form className="documents" onSubmit={(e) => { e.preventDefault(); onPick(draft); setDraft(""); }}>
      <select value={DOCUMENTS.includes(doc) ? doc : ""} onChange={(e) => onPick(e.target.value)}
              aria-label="Document">
        {!DOCUMENTS.includes(doc) && <option value="">{doc}</option>}
        {DOCUMENTS.map((d) => <option key={d} value={d}>{d}</option>)}
      </select>
      <input value={draft} onChange={(e) => setDraft(e.target.value)} placeholder="Other document"
             aria-label="Other document" />
    </form>
  );
}

createRoot(document.getElementById("root")).render(<StrictMode><Editor /></StrictMode>);
