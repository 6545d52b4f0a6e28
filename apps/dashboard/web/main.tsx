// The dashboard page: the server's own figures, sampled every 500 ms, as big numbers and charts.
import { StrictMode, useCallback, useEffect, useRef, useState } from "react";
import { createRoot } from "react-dom/client";
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";
import type { MessageOf } from "@pulse/client";
import { usePulseChannel } from "@pulse/client/react";
import type { Channels } from "@pulse/channels";

type Dashboard = Channels["dashboard"];
type Sample = Dashboard["out"]["sample"];
type Figure = Exclude<keyof Sample, "t">;
interface Series { key: Figure; label: string; stroke: string }

const KEPT = 120; // one minute of samples

const figures: { key: Figure; label: string; unit?: string }[] = [
  { key: "connections", label: "Connections" },
  { key: "viewers", label: "Viewers" },
  { key: "channels", label: "Channels" },
  { key: "messages_in_per_s", label: "Messages in/s" },
  { key: "messages_out_per_s", label: "Messages out/s" },
  { key: "cpu_percent", label: "CPU", unit: "%" },
  { key: "memory_mb", label: "Memory", unit: " MB" },
  { key: "simulated", label: "Simulated" },
];

const charts: { title: string; series: Series[] }[] = [
  { title: "Messages per second", series: [
    { key: "messages_in_per_s", label: "in", stroke: "#3451d1" },
    { key: "messages_out_per_s", label: "out", stroke: "#e8590c" }] },
  { title: "Process", series: [
    { key: "cpu_percent", label: "CPU %", stroke: "#2b8a3e" },
    { key: "memory_mb", label: "memory MB", stroke: "#862e9c" }] },
  { title: "Connections and channels", series: [
    { key: "connections", label: "connections", stroke: "#1098ad" },
    { key: "channels", label: "channels", stroke: "#f08c00" }] },
  { title: "Simulated series", series: [{ key: "simulated", label: "simulated", stroke: "#c2255c" }] },
];

function Dashboard() {
  const [samples, setSamples] = useState<Sample[]>([]);
  const onMessage = useCallback((...[event, sample]: MessageOf<Dashboard>) => {
    if (event === "sample") setSamples((all) => [...all.slice(-(KEPT - 1)), sample]);
  }, []);
  const { channel, status } = usePulseChannel<Channels, "dashboard">("dashboard", { onMessage });

  // Every join (the first, and after a reconnect) brings the last minute.
  useEffect(() => channel?.onJoin((response: { samples?: Sample[] }) => setSamples(response.samples ?? [])), [channel]);

  const latest = samples.at(-1);
  return (
    <div className="dashboard">
      <header>
        <h1><a href="/">Pulse</a> dashboard</h1>
        <span className={`status ${status}`} data-testid="status">{status}</span>
      </header>
      <section className="figures">
        {figures.map(({ key, label, unit = "" }) => (
          <div className="figure" key={key}>
            <span className="value" data-testid={`figure-${key}`}>
              {latest ? `${format(latest[key])}${unit}` : "–"}
            </span>
            <span className="label">{label}</span>
          </div>
        ))}
      </section>
      <section className="charts">
        {charts.map((chart) => <Chart key={chart.title} {...chart} samples={samples} />)}
      </section>
    </div>
  );
}

function format(value: number | undefined): string {
  if (typeof value !== "number") return "–";
  return Number.isInteger(value) ? value.toLocaleString() : value.toFixed(1);
}

/** One uPlot chart, made once and fed new data on every sample. */
function Chart({ title, series, samples }: { title: string; series: Series[]; samples: Sample[] }) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  useEffect(() => {
    const width = () => Math.max(240, box.current!.clientWidth);
    plot.current = new uPlot({
      width: width(),
      height: 180,
      series: [{}, ...series.map(({ label, stroke }) => ({ label, stroke, width: 2 }))],
      axes: [{ stroke: "#556" }, { stroke: "#556", size: 50 }],
      legend: { live: false },
    }, [[], ...series.map(() => [])], box.current!);
    const resize = () => plot.current!.setSize({ width: width(), height: 180 });
    window.addEventListener("resize", resize);
    return () => {
      window.removeEventListener("resize", resize);
      plot.current!.destroy();
    };
  }, [series]);
  useEffect(() => {
    const times = samples.map((s) => s.t / 1000);
    plot.current?.setData([times, ...series.map(({ key }) => samples.map((s) => s[key]))]);
  }, [samples, series]);
  return (
    <figure className="chart">
      <figcaption>{title}</figcaption>
      <div ref={box} data-testid={`chart-${title}`} />
    </figure>
  );
}

createRoot(document.getElementById("root")!).render(<StrictMode><Dashboard /></StrictMode>);
