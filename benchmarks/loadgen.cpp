// pulse-loadgen: a lean Phoenix Channels V2 load generator for Pulse's benchmarks.
//
// One level-triggered epoll loop per thread (one thread unless --threads), each with its own share
// of the connections; its own minimal WebSocket client: the HTTP upgrade request is written by
// hand, server frames (unmasked) are parsed straight out of one large read buffer per thread,
// client frames are masked. Only what the scenarios need is parsed: the event of each frame, and
// the sequence number and send time the generator itself put into the payload.
//
// Scenarios (see benchmarks/README.md): fanout, latency, rooms, editor, idle. Progress goes to
// stderr once a second; the result is one JSON line on stdout.
//
// With --compress it offers permessage-deflate (RFC 7692) with client_no_context_takeover and
// inflates every server message sent with RSV1 (the server must answer with
// server_no_context_takeover: each message is inflated on its own); its own frames go out plain.
#include <algorithm>
#include <arpa/inet.h>
#include <atomic>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fcntl.h>
#include <fstream>
#include <map>
#include <memory>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sched.h>
#include <sstream>
#include <string>
#include <string_view>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <thread>
#include <unistd.h>
#include <vector>
#include <zlib.h>

namespace {

using ns_t = std::int64_t;

/// The document every editor of the editor scenario edits.
constexpr std::string_view editor_topic = "doc:bench";

ns_t now_ns() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts); // what std::chrono::steady_clock reads
  return ns_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

double seconds(ns_t ns) {
  return static_cast<double>(ns) / 1e9;
}

[[noreturn]] void die(const std::string& what) {
  std::fprintf(stderr, "pulse-loadgen: %s\n", what.c_str());
  std::exit(2);
}

// ---------------------------------------------------------------------------------------------
// Options

struct options {
  std::string scenario;         // fanout | latency | rooms | editor | idle
  std::string label = "server"; // the server's name, copied into the result
  std::string host = "127.0.0.1";
  int port = 0;
  std::vector<int> ports; // --ports A,B: connection i goes to ports[i % n] (nodes sharing Redis)
  std::string path = "/socket/websocket?vsn=2.0.0";
  long subscribers = 1000; // -1: as many as the fd limits allow
  long window = 0;         // fanout: publishes not yet received by everyone; 0: auto
  double duration = 5;     // measured seconds
  double warmup = 1;       // seconds run before measuring
  double rate = 0;         // latency: publishes per second (0: 50,000 deliveries/s)
  long rooms = 100;        // rooms: rooms, members each, own messages in flight each
  long members = 10;
  long room_window = 0;           // 0: auto, about 100k deliveries in flight
  long editors = 30;              // editor: editors of one document (Pulse takes 32)
  long editor_window = 0;         // editor: updates each keeps in flight; 0: auto
  int server_pid = 0;             // for RSS, CPU and the server's fd limit
  long connect_concurrency = 256; // handshakes in progress at once
  double setup_timeout = 120;
  double drain_timeout = 10;
  double stall_timeout = 10;
  double settle = 1;     // idle: seconds to wait before reading the server's RSS
  long pad = 0;          // extra payload bytes
  long per_source = 0;   // connections per source address (0: a quarter of the ports)
  int threads = 1;       // epoll loops, each with its share of the connections (fanout only)
  bool compress = false; // offer permessage-deflate, inflate what comes compressed
  bool inflate_every_message = false; // no reuse of an identical message's inflated bytes
  long text = 0; // fanout/latency: bytes of chat-like text in each published payload
};

void usage() {
  std::fputs(
    "usage: pulse-loadgen --scenario fanout|latency|rooms|editor|idle --port PORT [options]\n"
    "  --host H (127.0.0.1)  --path P (/socket/websocket?vsn=2.0.0)  --label NAME\n"
    "  --ports P1,P2,... (several nodes: connection i to the (i mod n)-th; the publisher to P1)\n"
    "  --subscribers S|max   --window W (fanout; 0 = auto)  --duration SEC  --warmup SEC\n"
    "  --rate PUBLISHES_PER_S (latency; default 50,000 deliveries/s)  --pad BYTES\n"
    "  --rooms R --members K --room-window W (rooms; 0 = auto)\n"
    "  --editors N --editor-window W (editor: one document, binary updates; 0 = auto)\n"
    "  --server-pid PID (server RSS, CPU, fd limit)  --connect-concurrency N\n"
    "  --per-source N (connections per source address 127.0.0.x; 0 = a quarter of the ports)\n"
    "  --threads N (fanout: N epoll loops, the connections split between them; default 1)\n"
    "  --setup-timeout SEC --drain-timeout SEC --stall-timeout SEC --settle SEC\n"
    "  --compress (offer permessage-deflate; inflate compressed server messages)\n"
    "  --inflate-every-message (with --compress: no reuse of identical messages' inflated bytes)\n"
    "  --text BYTES (fanout/latency: a \"user\" and about BYTES of words as \"text\" in each "
    "payload)\n",
    stderr);
}

options parse_options(int argc, char** argv) {
  options o;
  for (int i = 1; i < argc; ++i) {
    std::string key = argv[i];
    if (key == "-h" || key == "--help") {
      usage();
      std::exit(0);
    }
    if (key == "--compress") { // flags: no value
      o.compress = true;
      continue;
    }
    if (key == "--inflate-every-message") {
      o.inflate_every_message = true;
      continue;
    }
    if (i + 1 >= argc) {
      usage();
      die("missing value for " + key);
    }
    std::string v = argv[++i];
    auto num = [&] {
      char* end = nullptr;
      double d = std::strtod(v.c_str(), &end);
      if (end == v.c_str() || *end)
        die("not a number for " + key + ": " + v);
      return d;
    };
    if (key == "--scenario")
      o.scenario = v;
    else if (key == "--label")
      o.label = v;
    else if (key == "--host")
      o.host = v;
    else if (key == "--port")
      o.port = static_cast<int>(num());
    else if (key == "--ports") {
      for (std::size_t at = 0; at <= v.size();) {
        auto comma = std::min(v.find(',', at), v.size());
        o.ports.push_back(std::atoi(v.substr(at, comma - at).c_str()));
        if (o.ports.back() <= 0)
          die("--ports takes port numbers separated by commas: " + v);
        at = comma + 1;
      }
      o.port = o.ports.front();
    } else if (key == "--path")
      o.path = v;
    else if (key == "--subscribers")
      o.subscribers = v == "max" ? -1 : static_cast<long>(num());
    else if (key == "--window")
      o.window = static_cast<long>(num());
    else if (key == "--duration")
      o.duration = num();
    else if (key == "--warmup")
      o.warmup = num();
    else if (key == "--rate")
      o.rate = num();
    else if (key == "--rooms")
      o.rooms = static_cast<long>(num());
    else if (key == "--members")
      o.members = static_cast<long>(num());
    else if (key == "--room-window")
      o.room_window = static_cast<long>(num());
    else if (key == "--editors")
      o.editors = static_cast<long>(num());
    else if (key == "--editor-window")
      o.editor_window = static_cast<long>(num());
    else if (key == "--server-pid")
      o.server_pid = static_cast<int>(num());
    else if (key == "--connect-concurrency")
      o.connect_concurrency = static_cast<long>(num());
    else if (key == "--setup-timeout")
      o.setup_timeout = num();
    else if (key == "--drain-timeout")
      o.drain_timeout = num();
    else if (key == "--stall-timeout")
      o.stall_timeout = num();
    else if (key == "--settle")
      o.settle = num();
    else if (key == "--per-source")
      o.per_source = static_cast<long>(num());
    else if (key == "--pad")
      o.pad = static_cast<long>(num());
    else if (key == "--threads")
      o.threads = static_cast<int>(num());
    else if (key == "--text")
      o.text = static_cast<long>(num());
    else {
      usage();
      die("unknown option " + key);
    }
  }
  if (o.scenario != "fanout" && o.scenario != "latency" && o.scenario != "rooms"
      && o.scenario != "editor" && o.scenario != "idle")
    die("--scenario must be fanout, latency, rooms, editor or idle");
  if (o.port <= 0)
    die("--port is required");
  if (o.members < 1 || o.rooms < 1 || o.room_window < 0)
    die("rooms and members >= 1, room-window >= 0");
  if (o.editors < 2 || o.editor_window < 0)
    die("editors >= 2, editor-window >= 0");
  if (o.threads < 1 || o.threads > 256)
    die("--threads takes 1 to 256");
  // Only fan-out splits its work: the other scenarios keep their single loop.
  if (o.threads > 1 && o.scenario != "fanout")
    die("--threads > 1 is for the fanout scenario only (" + o.scenario + " runs on one thread)");
  return o;
}

// ---------------------------------------------------------------------------------------------
// The server process, through /proc

long proc_status_kib(int pid, const char* field) { // VmRSS and the like, in KiB
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  std::size_t n = std::strlen(field);
  while (std::getline(in, line))
    if (line.compare(0, n, field) == 0 && line.size() > n && line[n] == ':')
      return std::strtol(line.c_str() + n + 1, nullptr, 10);
  return -1;
}

double proc_cpu_seconds(int pid) { // utime + stime of every thread
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string all((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto close = all.rfind(')'); // the command name may hold spaces
  if (close == std::string::npos)
    return -1;
  std::istringstream fields(all.substr(close + 2));
  std::string f;
  double utime = 0, stime = 0;
  for (int i = 3; i <= 15 && fields >> f; ++i) { // field 3 is the state
    if (i == 14)
      utime = std::strtod(f.c_str(), nullptr);
    if (i == 15)
      stime = std::strtod(f.c_str(), nullptr);
  }
  return (utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

long proc_fd_limit(int pid) { // the soft "Max open files" of a process
  std::ifstream in("/proc/" + std::to_string(pid) + "/limits");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("Max open files", 0) == 0)
      return std::strtol(line.c_str() + std::strlen("Max open files"), nullptr, 10);
  return -1;
}

// The one CPU a process is pinned to, or -1.
int pinned_cpu(int pid) {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(pid, sizeof set, &set) != 0 || CPU_COUNT(&set) != 1)
    return -1;
  for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu)
    if (CPU_ISSET(cpu, &set))
      return cpu;
  return -1;
}

// Busy and total time of one CPU (in ticks), whoever used it: processes, interrupts, softirqs.
// Loopback TCP work the server's writes cause runs in softirqs, on its core but outside its
// own utime/stime.
std::pair<double, double> cpu_busy_total(int cpu) {
  std::ifstream in("/proc/stat");
  std::string line, want = "cpu" + std::to_string(cpu) + " ";
  while (std::getline(in, line)) {
    if (line.rfind(want, 0) != 0)
      continue;
    std::istringstream fields(line.substr(want.size()));
    double v = 0, total = 0, idle = 0;
    for (int i = 0; fields >> v && i < 8; ++i) { // user nice system idle iowait irq softirq steal
      total += v;
      if (i == 3 || i == 4)
        idle += v;
    }
    return {total - idle, total};
  }
  return {0, 0};
}

// The whole process's CPU time (every thread), or the calling thread's.
double self_cpu_seconds(int who = RUSAGE_SELF) {
  rusage ru{};
  getrusage(who, &ru);
  return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec)
         + static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

// ---------------------------------------------------------------------------------------------
// Latency histogram: exact below 128 ns, then 128 sub-buckets per power of two (< 0.8% error).

class histogram {
 public:
  histogram() : counts_(128 + 57 * 128, 0) {}
  void record(std::int64_t value) {
    auto v = static_cast<std::uint64_t>(value < 0 ? 0 : value);
    ++counts_[index(v)];
    ++total_;
    max_ = std::max(max_, v);
  }
  std::uint64_t total() const { return total_; }
  double percentile_us(double q) const {
    if (!total_)
      return 0;
    auto rank = static_cast<std::uint64_t>(std::ceil(q * static_cast<double>(total_)));
    rank = std::clamp<std::uint64_t>(rank, 1, total_);
    std::uint64_t seen = 0;
    for (std::size_t i = 0; i < counts_.size(); ++i) {
      seen += counts_[i];
      if (seen >= rank)
        return static_cast<double>(std::min(value_of(i), max_)) / 1e3;
    }
    return static_cast<double>(max_) / 1e3;
  }
  double max_us() const { return static_cast<double>(max_) / 1e3; }
  void merge(const histogram& other) {
    for (std::size_t i = 0; i < counts_.size(); ++i)
      counts_[i] += other.counts_[i];
    total_ += other.total_;
    max_ = std::max(max_, other.max_);
  }
  void reset() {
    std::fill(counts_.begin(), counts_.end(), 0);
    total_ = max_ = 0;
  }

 private:
  static std::size_t index(std::uint64_t v) {
    if (v < 128)
      return v;
    int msb = 63 - __builtin_clzll(v);
    int shift = msb - 7;
    return 128 + static_cast<std::size_t>(shift) * 128 + ((v >> shift) - 128);
  }
  static std::uint64_t value_of(std::size_t i) { // the middle of bucket i
    if (i < 128)
      return i;
    std::size_t shift = (i - 128) / 128;
    std::uint64_t top = 128 + (i - 128) % 128;
    return (top << shift) + ((std::uint64_t{1} << shift) >> 1);
  }
  std::vector<std::uint64_t> counts_;
  std::uint64_t total_ = 0, max_ = 0;
};

// ---------------------------------------------------------------------------------------------
// Minimal Phoenix V2 frame reading: [join_ref, ref, topic, event, payload], no full JSON parse.

struct phx_frame {
  std::string_view join_ref, ref, topic, event, payload; // strings without their quotes
  bool ref_null = true;
};

// One JSON string (raw, escapes left as they are) or null, then a comma.
bool take_string_or_null(std::string_view& s, std::string_view& out, bool& is_null) {
  std::size_t i = 0;
  while (i < s.size() && (s[i] == ' ' || s[i] == '\n' || s[i] == '\t' || s[i] == '\r'))
    ++i;
  if (s.substr(i, 4) == "null") {
    is_null = true;
    out = {};
    i += 4;
  } else if (i < s.size() && s[i] == '"') {
    std::size_t start = ++i;
    while (i < s.size() && s[i] != '"')
      i += s[i] == '\\' ? 2 : 1;
    if (i >= s.size())
      return false;
    is_null = false;
    out = s.substr(start, i - start);
    ++i;
  } else {
    return false;
  }
  while (i < s.size() && s[i] == ' ')
    ++i;
  if (i >= s.size() || s[i] != ',')
    return false;
  s.remove_prefix(i + 1);
  return true;
}

bool parse_phx(std::string_view m, phx_frame& f) {
  auto open = m.find('[');
  auto close = m.rfind(']');
  if (open == std::string_view::npos || close == std::string_view::npos || close < open)
    return false;
  std::string_view s = m.substr(open + 1, close - open - 1);
  bool null_join = false, null_topic = false, null_event = false;
  if (!take_string_or_null(s, f.join_ref, null_join) || !take_string_or_null(s, f.ref, f.ref_null)
      || !take_string_or_null(s, f.topic, null_topic)
      || !take_string_or_null(s, f.event, null_event))
    return false;
  f.payload = s;
  return !null_topic && !null_event;
}

// The integer after `"key":` (the key given with its quotes and colon), or false.
bool find_int(std::string_view s, std::string_view key, std::int64_t& out) {
  auto at = s.find(key);
  if (at == std::string_view::npos)
    return false;
  const char* p = s.data() + at + key.size();
  const char* end = s.data() + s.size();
  while (p < end && *p == ' ')
    ++p;
  auto [ptr, ec] = std::from_chars(p, end, out);
  return ec == std::errc{} && ptr != p;
}

// ---------------------------------------------------------------------------------------------
// Connections

enum class state : std::uint8_t { idle, connecting, upgrading, joining, joined, closed };

/// Tells when a count (deliveries, say) stopped moving for longer than `timeout_s`.
struct stall_watch {
  double timeout_s;
  ns_t since;
  std::uint64_t last = 0;

  bool stalled(std::uint64_t count, ns_t now) {
    if (count != last) {
      last = count;
      since = now;
      return false;
    }
    if (now - since <= static_cast<ns_t>(timeout_s * 1e9))
      return false;
    std::fprintf(stderr, "pulse-loadgen: no progress for %.0f s: stopping\n", timeout_s);
    return true;
  }
};

struct conn {
  int fd = -1;
  state st = state::idle;
  bool want_out = false; // EPOLLOUT armed
  std::int32_t room = 0; // rooms: which room, which member of it
  std::int32_t member = 0;
  std::uint64_t expected = 0;     // fanout/latency: next sequence number due
  std::uint32_t own_inflight = 0; // rooms: own messages not yet echoed back
  std::uint64_t own_sent = 0;
  std::string in;   // bytes of an incomplete frame (or HTTP response)
  std::string frag; // a fragmented message being assembled
  bool frag_binary = false;
  bool frag_compressed = false; // the message being assembled had RSV1 on its first frame
  bool deflate = false;         // permessage-deflate agreed on in the upgrade
  std::string out;              // bytes the socket did not take yet
};

struct close_info {
  std::map<std::string, long> reasons; // "1008 slow consumer" -> count
  void add(const std::string& why) { ++reasons[why]; }
  void merge(const close_info& other) {
    for (auto& [k, v] : other.reasons)
      reasons[k] += v;
  }
  long total() const {
    long n = 0;
    for (auto& [k, v] : reasons)
      n += v;
    return n;
  }
};

std::string json_escape(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", c);
      out += buf;
    } else {
      out += c;
    }
  }
  return out;
}

class loadgen;

// What the threads of one run share. Each thread owns its connections outright (its own epoll,
// buffers and counters); only these figures cross between them.
struct shared_run {
  options o;
  int threads = 1;
  std::size_t total = 0; // connections in all
  long requested = 0;
  std::string cut_note;
  long fd_limit = 0, server_fd_limit = -1;
  std::size_t per_source = 28000;
  std::string upgrade_request;
  std::vector<loadgen*> workers; // workers[0] holds connection 0, the publisher

  // Fan-out: the publisher's count of sequence numbers sent. Stored before the frames leave, so a
  // thread that receives number s can always read a count above s.
  std::atomic<std::uint64_t> published{0};
  std::atomic<bool> publishing_done{false}; // `published` is final
  std::atomic<bool> stop{false};            // the publisher saw no progress: every thread stops
  std::atomic<bool> publisher_waiting{false};
  int wake_fd = -1; // eventfd in the publisher's epoll: a thread's watermark moved (threads > 1)

  // Setup: every thread's connections joined before anyone publishes.
  std::atomic<int> ready{0};
  std::atomic<int> go{0}; // 0 waiting, 1 go, -1 nothing to run (no join, or no publisher)
  ns_t t0 = 0, t_first_connect = 0, t_all_joined = 0;
  double cpu_before = 0, srv_cpu_before = 0, setup_cpu = 0, setup_server_cpu = 0;
  long joined = 0;
  bool all_joined = false, publisher_joined = false;
  long rss_before = -1; // the server's, in KiB, before the first connection
};

// One thread's share of the connections: connections first_ .. first_ + conns_.size() - 1.
class loadgen {
 public:
  loadgen(shared_run& sh, int index, std::size_t first, std::size_t count);
  void thread_main();                // setup, then the scenario's loop
  void absorb(const loadgen& other); // adds another thread's counters to this one's
  void report();                     // the result line (thread 0, after absorbing the others)
  void close_all();
  bool clean() const { return closes_.total() == 0 && lost_ == 0 && duplicated_ == 0; }

 private:
  // --- setup
  void open_one(std::size_t i);
  void on_connected(std::size_t i);
  void on_readable(std::size_t i);
  void on_writable(std::size_t i);
  void close_conn(std::size_t i, const std::string& why);
  void send_text(conn& c, std::string_view text); // masked text frame into c.out
  void send_frame(conn& c, std::string_view bytes, unsigned char first_byte);
  void send_binary_push(conn& c, std::string_view event, std::string_view payload);
  void flush(std::size_t i);
  void arm(std::size_t i, bool want_out);
  std::size_t parse_frames(std::size_t i, char* data, std::size_t len);
  void on_data_message(std::size_t i, std::string_view m, bool binary, bool compressed, ns_t now);
  bool inflate_message(std::string_view m); // into inflated_
  void on_message(std::size_t i, std::string_view m, ns_t now);
  void on_reply(std::size_t i, const phx_frame& f);
  void on_bench_message(std::size_t i, std::string_view payload, ns_t now);
  void on_room_message(std::size_t i, std::string_view payload, ns_t now);
  void on_binary(std::size_t i, std::string_view m, ns_t now);
  void on_editor_update(std::size_t i, std::string_view payload, ns_t now);
  void poll(int timeout_ms);
  void heartbeat_tick(ns_t now);
  void progress(ns_t now, const char* phase);

  // --- scenarios
  bool setup();
  bool wait_for_all(ns_t deadline);
  void run_fanout();
  void report_fanout();
  void run_latency();
  void run_rooms();
  void run_editor();
  void run_idle();
  void publish(std::int64_t count); // fanout/latency: from connection 0
  void room_send(std::size_t i);
  void editor_send(std::size_t i);
  void learn_published();
  void finish_counts();
  std::uint64_t global_low() const;
  std::string common_json();

  shared_run& sh_;
  options o_;
  int index_;         // this thread's number; 0 holds the publisher and prints progress
  std::size_t first_; // global number of conns_[0]: source address, port, room
  int ep_ = -1;
  std::vector<conn> conns_;
  std::vector<char> rbuf_ = std::vector<char>(1 << 20);
  std::vector<epoll_event> events_ = std::vector<epoll_event>(4096);
  std::uint64_t rng_ = 0x9e3779b97f4a7c15ull;
  std::size_t next_to_open_ = 0;
  long connect_concurrency_ = 256;
  long in_handshake_ = 0, joined_ = 0, failed_ = 0;
  long alive_ = 0;
  close_info closes_;
  ns_t t_first_connect_ = 0;
  ns_t last_progress_ = 0, last_heartbeat_tick_ = 0, last_progress_t_ = 0;
  std::uint64_t last_progress_deliveries_ = 0;
  std::uint64_t hb_round_ = 0;
  std::uint64_t refs_ = 10;
  struct { // this thread's setup, as it ended; read by the thread that sums them up
    ns_t first_connect = 0;
    long joined = 0, failed = 0;
    std::string first_error;
    bool publisher_joined = true;
  } setup_done_;

  // counters
  bool measuring_ = false;
  std::uint64_t deliveries_ = 0, measured_deliveries_ = 0, lost_ = 0, duplicated_ = 0;
  std::uint64_t reads_ = 0, frames_ = 0, polls_ = 0, measured_reads_ = 0, measured_frames_ = 0;
  std::uint64_t other_frames_ = 0, replies_ok_ = 0, replies_error_ = 0, join_errors_ = 0;
  // Bytes read from the sockets (WebSocket headers included, HTTP upgrade responses too), all
  // along and over the measured seconds; compressed messages received and inflated.
  std::uint64_t wire_bytes_ = 0, measured_wire_bytes_ = 0;
  std::uint64_t compressed_messages_ = 0, measured_compressed_ = 0, measured_inflated_bytes_ = 0;
  long deflate_conns_ = 0; // connections that agreed on permessage-deflate
  z_stream inflater_{};
  bool inflater_ready_ = false;
  std::string inflated_; // the last message inflated: its first inflated_size_ bytes
  std::size_t inflated_size_ = 0;
  // Compressed messages already inflated, by a hash of their bytes: a broadcast compressed once
  // reaches every subscriber as the same bytes, and the same bytes inflate to the same message
  // (no context is taken over), so the generator inflates each broadcast once, not once per
  // subscriber; a hit is checked byte for byte. Off with --inflate-every-message.
  struct inflated_entry {
    std::string in, out;
  };
  std::vector<inflated_entry> inflate_cache_;
  std::uint64_t inflate_cache_hits_ = 0;
  std::string first_error_;
  histogram latency_;
  double measured_rate_ = 0; // fanout: deliveries/s, summed over the threads' own windows
  bool stalled_ = false;
  long window_ = 0;

  // fanout/latency: the publisher is connection 0 (it subscribes too)
  std::uint64_t published_ = 0; // next sequence number (other threads: as last read)
  std::uint64_t low_ = 0;       // every sequence number below it reached this thread's subscribers
  std::vector<std::uint32_t> ring_; // this thread's deliveries of each in-flight sequence number
  std::uint64_t ring_mask_ = 0;
  std::string pad_;
  std::vector<std::string> texts_; // --text: `,"user":..,"text":..` fields, one per publish in turn

  // Read by the other threads: this thread's watermark (UINT64_MAX once it left the run), and its
  // counters for thread 0's progress line. On a cache line of its own.
  struct alignas(64) view {
    std::atomic<std::uint64_t> low{0};
    std::atomic<std::uint64_t> deliveries{0}, lost{0}, duplicated{0};
    std::atomic<long> joined{0}, failed{0}, closed{0};
  } view_;

  // rooms
  std::vector<std::uint32_t> room_expected_; // [receiver * members + sender]
  bool room_sending_ = false;
  std::uint64_t room_inflight_ = 0, room_sent_ = 0, measured_sent_ = 0;
  std::uint64_t room_due_ = 0; // deliveries owed: every message sent, once to each member

  // measurement window; the process's CPU and the server's are read by thread 0 only
  ns_t m_start_ = 0, m_end_ = 0;
  double cpu_start_ = 0, cpu_end_ = 0, srv_cpu_start_ = 0, srv_cpu_end_ = 0;
  double thread_cpu_start_ = 0, thread_cpu_end_ = 0;
  double thread_cpu_max_pct_ = 0; // the busiest thread's CPU over its window
  int server_core_ = -1;
  std::pair<double, double> core_start_{}, core_end_{};
  void start_measure() {
    measuring_ = true;
    m_start_ = now_ns();
    thread_cpu_start_ = self_cpu_seconds(RUSAGE_THREAD);
    if (index_ != 0)
      return;
    cpu_start_ = self_cpu_seconds();
    srv_cpu_start_ = o_.server_pid ? proc_cpu_seconds(o_.server_pid) : 0;
    server_core_ = o_.server_pid ? pinned_cpu(o_.server_pid) : -1;
    if (server_core_ >= 0)
      core_start_ = cpu_busy_total(server_core_);
  }
  void end_measure() {
    measuring_ = false;
    m_end_ = now_ns();
    thread_cpu_end_ = self_cpu_seconds(RUSAGE_THREAD);
    double wall = seconds(m_end_ - m_start_);
    if (wall > 0)
      thread_cpu_max_pct_ = 100 * (thread_cpu_end_ - thread_cpu_start_) / wall;
    if (index_ != 0)
      return;
    cpu_end_ = self_cpu_seconds();
    srv_cpu_end_ = o_.server_pid ? proc_cpu_seconds(o_.server_pid) : 0;
    if (server_core_ >= 0)
      core_end_ = cpu_busy_total(server_core_);
  }
  double server_core_busy_pct() const {
    double total = core_end_.second - core_start_.second;
    return server_core_ >= 0 && total > 0 ? 100 * (core_end_.first - core_start_.first) / total
                                          : -1;
  }
};

loadgen::loadgen(shared_run& sh, int index, std::size_t first, std::size_t count)
    : sh_(sh), o_(sh.o), index_(index), first_(first), conns_(count) {
  rng_ ^= static_cast<std::uint64_t>(index) * 0xbf58476d1ce4e5b9ull; // thread 0: the usual seed
  // The handshakes in flight are shared out like the connections.
  connect_concurrency_ = std::max(1L, (o_.connect_concurrency + sh.threads - 1) / sh.threads);
}

// How many connections, from which source addresses: the same for every thread.
void plan_connections(shared_run& sh) {
  options& o = sh.o;
  // As many descriptors as the hard limit allows.
  rlimit rl{};
  getrlimit(RLIMIT_NOFILE, &rl);
  rl.rlim_cur = rl.rlim_max;
  setrlimit(RLIMIT_NOFILE, &rl);
  getrlimit(RLIMIT_NOFILE, &rl);
  sh.fd_limit = static_cast<long>(rl.rlim_cur);
  // stdio, /proc reads, and an epoll (plus a timerfd or an eventfd) per thread
  long own_max = sh.fd_limit - 32 - 2 * o.threads;
  long max = own_max;
  std::string who = "the load generator's fd limit (" + std::to_string(sh.fd_limit) + ")";
  if (o.server_pid) {
    sh.server_fd_limit = proc_fd_limit(o.server_pid);
    // The server needs descriptors of its own: listener, epoll, event fds, files, libraries.
    if (sh.server_fd_limit > 0 && sh.server_fd_limit - 100 < max) {
      max = sh.server_fd_limit - 100;
      who = "the server's fd limit (" + std::to_string(sh.server_fd_limit) + ")";
    }
  }
  long wanted = o.scenario == "rooms"    ? o.rooms * o.members
                : o.scenario == "editor" ? o.editors
                                         : o.subscribers;
  sh.requested = wanted;
  if (wanted < 0) {
    wanted = max;
    sh.cut_note = "S = " + std::to_string(max) + ", the most " + who + " allows";
  } else if (wanted > max) {
    sh.cut_note = "S cut from " + std::to_string(wanted) + " to " + std::to_string(max) + " by "
                  + who;
    wanted = max;
  }
  if (o.scenario == "editor" && wanted < o.editors) {
    o.editors = wanted;
    if (wanted < 2)
      die("the editor scenario needs two editors at least");
  }
  if (o.scenario == "rooms" && wanted < o.rooms * o.members) {
    o.rooms = std::max(1L, wanted / o.members);
    wanted = o.rooms * o.members;
    sh.cut_note += "; rooms cut to " + std::to_string(o.rooms);
  }
  if (!sh.cut_note.empty())
    std::fprintf(stderr, "pulse-loadgen: %s\n", sh.cut_note.c_str());
  sh.total = static_cast<std::size_t>(wanted);
  // Spread connections over source addresses 127.0.0.1, .2, ...: one address has only the
  // ephemeral port range (about 28k ports), and connect() already slows down (its search for a
  // free port) once a good part of it is taken. Default: a quarter of the range per address.
  std::ifstream range("/proc/sys/net/ipv4/ip_local_port_range");
  long lo = 32768, hi = 60999;
  range >> lo >> hi;
  long ports = std::max(1000L, hi - lo + 1 - 1000);
  sh.per_source = static_cast<std::size_t>(o.per_source > 0 ? std::min(o.per_source, ports)
                                                            : std::max(1000L, ports / 4));
  if (sh.total > sh.per_source && o.host.rfind("127.", 0) != 0)
    std::fprintf(stderr, "pulse-loadgen: more connections than one source address has ports; "
                         "extra source addresses are only used towards 127.0.0.0/8\n");
  sh.upgrade_request = "GET " + o.path + " HTTP/1.1\r\nHost: " + o.host + ":"
                       + std::to_string(o.port)
                       + "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                         "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                         "Sec-WebSocket-Version: 13\r\n"
                       + std::string(o.compress ? "Sec-WebSocket-Extensions: permessage-deflate; "
                                                  "client_no_context_takeover\r\n"
                                                : "")
                       + "\r\n";
}

void loadgen::open_one(std::size_t i) {
  conn& c = conns_[i];
  c.fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (c.fd < 0) {
    ++failed_;
    c.st = state::closed;
    if (first_error_.empty())
      first_error_ = std::string("socket: ") + std::strerror(errno);
    return;
  }
  int one = 1;
  setsockopt(c.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  sockaddr_in to{};
  to.sin_family = AF_INET;
  std::size_t g = first_ + i; // its number in the whole run
  auto port = o_.ports.empty() ? o_.port : o_.ports[g % o_.ports.size()];
  to.sin_port = htons(static_cast<std::uint16_t>(port));
  inet_pton(AF_INET, o_.host.c_str(), &to.sin_addr);
  if (std::size_t source = g / sh_.per_source; source > 0 && o_.host.rfind("127.", 0) == 0) {
    setsockopt(c.fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
    sockaddr_in from{};
    from.sin_family = AF_INET;
    from.sin_addr.s_addr = htonl(0x7f000001u + static_cast<std::uint32_t>(source));
    bind(c.fd, reinterpret_cast<sockaddr*>(&from), sizeof from);
  }
  c.st = state::connecting;
  ++in_handshake_;
  if (!t_first_connect_)
    t_first_connect_ = now_ns();
  int rc = connect(c.fd, reinterpret_cast<sockaddr*>(&to), sizeof to);
  if (rc < 0 && errno != EINPROGRESS) {
    close_conn(i, std::string("connect: ") + std::strerror(errno));
    return;
  }
  epoll_event ev{};
  ev.events = EPOLLIN | EPOLLOUT;
  ev.data.u64 = i;
  c.want_out = true;
  epoll_ctl(ep_, EPOLL_CTL_ADD, c.fd, &ev);
}

void loadgen::arm(std::size_t i, bool want_out) {
  conn& c = conns_[i];
  if (c.want_out == want_out || c.fd < 0)
    return;
  c.want_out = want_out;
  epoll_event ev{};
  ev.events = EPOLLIN | (want_out ? EPOLLOUT : 0u);
  ev.data.u64 = i;
  epoll_ctl(ep_, EPOLL_CTL_MOD, c.fd, &ev);
}

void loadgen::close_conn(std::size_t i, const std::string& why) {
  conn& c = conns_[i];
  if (c.st == state::closed)
    return;
  if (c.st == state::joined)
    --alive_;
  else if (c.st != state::idle) {
    --in_handshake_;
    ++failed_;
  }
  if (first_error_.empty())
    first_error_ = why;
  closes_.add(why);
  if (c.fd >= 0) {
    linger lg{1, 0}; // reset: no TIME_WAIT left behind for the next run
    setsockopt(c.fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    close(c.fd);
  }
  c.fd = -1;
  c.st = state::closed;
  std::string().swap(c.in);
  std::string().swap(c.out);
}

void loadgen::send_text(conn& c, std::string_view text) {
  send_frame(c, text, 0x81); // FIN, text
}

// A Phoenix V2 binary push (kind 0): 0, the lengths of join_ref, ref, topic and event, them, the
// payload.
void loadgen::send_binary_push(conn& c, std::string_view event, std::string_view payload) {
  char ref[24];
  int ref_length = std::snprintf(ref, sizeof ref, "m%llu",
                                 static_cast<unsigned long long>(refs_++));
  std::string_view topic = editor_topic;
  std::string frame;
  frame.reserve(5 + 1 + static_cast<std::size_t>(ref_length) + topic.size() + event.size()
                + payload.size());
  frame += '\0';
  frame += static_cast<char>(1);
  frame += static_cast<char>(ref_length);
  frame += static_cast<char>(topic.size());
  frame += static_cast<char>(event.size());
  frame += '1';
  frame.append(ref, static_cast<std::size_t>(ref_length));
  frame += topic;
  frame += event;
  frame += payload;
  send_frame(c, frame, 0x82); // FIN, binary
}

void loadgen::send_frame(conn& c, std::string_view text, unsigned char first_byte) {
  char header[14];
  std::size_t h = 0;
  header[h++] = static_cast<char>(first_byte);
  std::size_t n = text.size();
  if (n < 126) {
    header[h++] = static_cast<char>(0x80 | n);
  } else if (n < 65536) {
    header[h++] = static_cast<char>(0x80 | 126);
    header[h++] = static_cast<char>(n >> 8);
    header[h++] = static_cast<char>(n);
  } else {
    header[h++] = static_cast<char>(0x80 | 127);
    for (int s = 56; s >= 0; s -= 8)
      header[h++] = static_cast<char>(n >> s);
  }
  rng_ ^= rng_ << 13; // xorshift64: a fresh masking key per frame
  rng_ ^= rng_ >> 7;
  rng_ ^= rng_ << 17;
  unsigned char key[4];
  std::memcpy(key, &rng_, 4);
  std::memcpy(header + h, key, 4);
  h += 4;
  std::size_t at = c.out.size();
  c.out.append(header, h);
  c.out.append(text);
  char* p = c.out.data() + at + h;
  for (std::size_t k = 0; k < n; ++k)
    p[k] = static_cast<char>(p[k] ^ key[k & 3]);
}

void loadgen::flush(std::size_t i) {
  conn& c = conns_[i];
  if (c.fd < 0 || c.out.empty() || c.st == state::connecting)
    return;
  ssize_t w = ::send(c.fd, c.out.data(), c.out.size(), MSG_NOSIGNAL);
  if (w < 0) {
    if (errno == EAGAIN || errno == EWOULDBLOCK)
      return arm(i, true);
    return close_conn(i, std::string("send: ") + std::strerror(errno));
  }
  c.out.erase(0, static_cast<std::size_t>(w));
  arm(i, !c.out.empty());
}

void loadgen::on_connected(std::size_t i) {
  conn& c = conns_[i];
  int err = 0;
  socklen_t len = sizeof err;
  getsockopt(c.fd, SOL_SOCKET, SO_ERROR, &err, &len);
  if (err)
    return close_conn(i, std::string("connect: ") + std::strerror(err));
  c.st = state::upgrading;
  c.out = sh_.upgrade_request;
  flush(i);
}

void loadgen::on_writable(std::size_t i) {
  if (conns_[i].st == state::connecting)
    return on_connected(i);
  flush(i);
}

void loadgen::on_readable(std::size_t i) {
  conn& c = conns_[i];
  std::size_t carry = c.in.size();
  if (carry >= rbuf_.size() / 2)
    rbuf_.resize(carry * 2 + (1 << 16)); // a huge frame: grow
  std::memcpy(rbuf_.data(), c.in.data(), carry);
  ssize_t n = ::recv(c.fd, rbuf_.data() + carry, rbuf_.size() - carry, 0);
  if (n == 0)
    return close_conn(i, "closed by the server (EOF)");
  if (n < 0) {
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
      return;
    return close_conn(i, std::string("recv: ") + std::strerror(errno));
  }
  std::size_t len = carry + static_cast<std::size_t>(n);
  char* data = rbuf_.data();
  ++reads_;
  wire_bytes_ += static_cast<std::uint64_t>(n);
  if (measuring_) {
    ++measured_reads_;
    measured_wire_bytes_ += static_cast<std::uint64_t>(n);
  }
  std::size_t used = 0;
  if (c.st == state::upgrading) {
    std::string_view all(data, len);
    auto end = all.find("\r\n\r\n");
    if (end == std::string_view::npos) {
      if (len > 16384)
        return close_conn(i, "HTTP response too long");
      c.in.assign(data, len);
      return;
    }
    if (all.substr(0, 12) != "HTTP/1.1 101")
      return close_conn(i, "upgrade refused: " + std::string(all.substr(0, all.find("\r\n"))));
    used = end + 4;
    if (o_.compress) {
      std::string head(all.substr(0, end));
      for (auto& ch : head)
        ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
      auto ext = head.find("\r\nsec-websocket-extensions:");
      if (ext != std::string::npos) {
        auto eol = head.find("\r\n", ext + 2);
        std::string_view value = std::string_view(head).substr(ext, eol - ext);
        if (value.find("permessage-deflate") != std::string_view::npos) {
          // Each compressed message is inflated on its own: the server must not refer back.
          if (value.find("server_no_context_takeover") == std::string_view::npos)
            return close_conn(i, "permessage-deflate without server_no_context_takeover");
          c.deflate = true;
          ++deflate_conns_;
        }
      }
    }
    c.st = state::joining;
    std::string join;
    if (o_.scenario == "rooms")
      join = "[\"1\",\"1\",\"room:bench" + std::to_string(c.room)
             + "\",\"phx_join\",{\"username\":\"u" + std::to_string(c.member) + "\"}]";
    else if (o_.scenario == "editor")
      join = "[\"1\",\"1\",\"" + std::string{editor_topic} + "\",\"phx_join\",{}]";
    else
      join = R"(["1","1","bench","phx_join",{}])";
    send_text(c, join);
    flush(i);
    if (c.st == state::closed)
      return;
  }
  used += parse_frames(i, data + used, len - used);
  if (conns_[i].st == state::closed)
    return;
  conns_[i].in.assign(data + used, len - used);
}

std::size_t loadgen::parse_frames(std::size_t i, char* data, std::size_t len) {
  ns_t now = now_ns(); // one clock read per read(): every frame in it arrived together
  std::size_t pos = 0;
  while (len - pos >= 2) {
    auto b0 = static_cast<unsigned char>(data[pos]);
    auto b1 = static_cast<unsigned char>(data[pos + 1]);
    if (b1 & 0x80) {
      close_conn(i, "protocol error: masked server frame");
      return pos;
    }
    std::uint64_t plen = b1 & 0x7f;
    std::size_t hdr = 2;
    if (plen == 126) {
      if (len - pos < 4)
        break;
      plen = (std::uint64_t{static_cast<unsigned char>(data[pos + 2])} << 8)
             | static_cast<unsigned char>(data[pos + 3]);
      hdr = 4;
    } else if (plen == 127) {
      if (len - pos < 10)
        break;
      plen = 0;
      for (int k = 0; k < 8; ++k)
        plen = (plen << 8) | static_cast<unsigned char>(data[pos + 2 + k]);
      hdr = 10;
    }
    if (len - pos - hdr < plen)
      break;
    std::string_view body(data + pos + hdr, plen);
    pos += hdr + plen;
    ++frames_;
    if (measuring_)
      ++measured_frames_;
    bool fin = b0 & 0x80;
    bool rsv1 = b0 & 0x40;
    if ((b0 & 0x30) || (rsv1 && (!conns_[i].deflate || (b0 & 0x0f) == 0 || (b0 & 0x08)))) {
      close_conn(i, "protocol error: RSV bits " + std::to_string((b0 >> 4) & 7));
      return pos;
    }
    switch (b0 & 0x0f) {
      case 1: // text
      case 2: // binary
        if (fin) {
          on_data_message(i, body, (b0 & 0x0f) == 2, rsv1, now);
        } else {
          conns_[i].frag.assign(body);
          conns_[i].frag_binary = (b0 & 0x0f) == 2;
          conns_[i].frag_compressed = rsv1;
        }
        break;
      case 0: // continuation
        conns_[i].frag.append(body);
        if (fin) {
          std::string whole;
          whole.swap(conns_[i].frag);
          on_data_message(i, whole, conns_[i].frag_binary, conns_[i].frag_compressed, now);
        }
        break;
      case 8: { // close
        std::string why = "close frame";
        if (plen >= 2)
          why = "close "
                + std::to_string((static_cast<unsigned char>(body[0]) << 8)
                                 | static_cast<unsigned char>(body[1]))
                + " " + std::string(body.substr(2));
        close_conn(i, why);
        return pos;
      }
      case 9: { // ping: answer with a pong carrying the same data
        conn& c = conns_[i];
        send_text(c, body);
        c.out[c.out.size() - body.size() - (body.size() < 126 ? 6 : 8)] = static_cast<char>(0x8A);
        flush(i);
        break;
      }
      case 10: break; // pong
      default: close_conn(i, "unexpected opcode " + std::to_string(b0 & 0x0f)); return pos;
    }
    if (conns_[i].st == state::closed)
      return pos;
  }
  return pos;
}

// A whole text or binary message; a compressed one is inflated first, so everything after sees
// the plain message.
void loadgen::on_data_message(std::size_t i, std::string_view m, bool binary, bool compressed,
                              ns_t now) {
  if (compressed) {
    inflated_entry* e = nullptr;
    if (!o_.inflate_every_message) {
      if (inflate_cache_.empty())
        inflate_cache_.resize(1 << 15);
      e = &inflate_cache_[std::hash<std::string_view>{}(m) & (inflate_cache_.size() - 1)];
    }
    if (e && e->in == m) {
      ++inflate_cache_hits_;
      m = e->out;
    } else {
      if (!inflate_message(m))
        return close_conn(i, "inflate failed");
      std::string_view plain(inflated_.data(), inflated_size_);
      if (e) {
        e->in.assign(m);
        e->out.assign(plain);
      }
      m = plain;
    }
    ++compressed_messages_;
    if (measuring_) {
      ++measured_compressed_;
      measured_inflated_bytes_ += m.size();
    }
  }
  if (binary)
    on_binary(i, m, now);
  else
    on_message(i, m, now);
}

// RFC 7692 7.2.2: the message's data with 00 00 ff ff appended, raw deflate. The server sends
// with server_no_context_takeover, so the inflater starts afresh for every message.
bool loadgen::inflate_message(std::string_view m) {
  if (!inflater_ready_) {
    if (inflateInit2(&inflater_, -15) != Z_OK)
      return false;
    inflater_ready_ = true;
  } else if (inflateReset(&inflater_) != Z_OK) {
    return false;
  }
  static const unsigned char tail[4] = {0x00, 0x00, 0xff, 0xff};
  if (inflated_.size() < 4096)
    inflated_.resize(4096);
  std::size_t out = 0;
  for (int part = 0; part < 2; ++part) {
    inflater_.next_in = part == 0 ? reinterpret_cast<Bytef*>(const_cast<char*>(m.data()))
                                  : const_cast<Bytef*>(tail);
    inflater_.avail_in = part == 0 ? static_cast<uInt>(m.size()) : 4;
    do {
      if (out == inflated_.size())
        inflated_.resize(inflated_.size() * 2);
      inflater_.next_out = reinterpret_cast<Bytef*>(inflated_.data() + out);
      inflater_.avail_out = static_cast<uInt>(inflated_.size() - out);
      int rc = inflate(&inflater_, Z_SYNC_FLUSH);
      out = inflated_.size() - inflater_.avail_out;
      if (rc == Z_BUF_ERROR && inflater_.avail_in == 0)
        break; // nothing more to do with this part
      if (rc != Z_OK && rc != Z_STREAM_END)
        return false;
    } while (inflater_.avail_in > 0 || inflater_.avail_out == 0);
  }
  // Valid until the next message; the callers do not keep views into it.
  inflated_size_ = out;
  return true;
}

void loadgen::on_message(std::size_t i, std::string_view m, ns_t now) {
  // The fan-out broadcast, the hot path: compare the fixed prefix, skip the general parse.
  static constexpr std::string_view bench_prefix = R"([null,null,"bench","message",)";
  if (m.size() > bench_prefix.size()
      && std::memcmp(m.data(), bench_prefix.data(), bench_prefix.size()) == 0)
    return on_bench_message(i, m.substr(bench_prefix.size()), now);
  phx_frame f;
  if (!parse_phx(m, f)) {
    ++other_frames_;
    if (first_error_.empty())
      first_error_ = "unparsable frame: " + std::string(m.substr(0, 200));
    return;
  }
  if (f.event == "message" && f.topic == "bench")
    return on_bench_message(i, f.payload, now);
  if (f.event == "new_message")
    return on_room_message(i, f.payload, now);
  if (f.event == "phx_reply")
    return on_reply(i, f);
  if (f.event == "phx_error" || f.event == "phx_close") {
    ++replies_error_;
    if (first_error_.empty())
      first_error_ = "got " + std::string(m.substr(0, 200));
  }
  ++other_frames_; // presence_state, presence_diff, ...
}

void loadgen::on_reply(std::size_t i, const phx_frame& f) {
  conn& c = conns_[i];
  bool ok = f.payload.find(R"("status":"ok")") != std::string_view::npos;
  if (f.ref == "1" && c.st == state::joining) {
    --in_handshake_;
    if (!ok) {
      ++join_errors_;
      ++failed_;
      c.st = state::idle; // so that close_conn does not count it twice
      close_conn(i, "join refused: " + std::string(f.payload.substr(0, 200)));
      return;
    }
    c.st = state::joined;
    ++joined_;
    ++alive_;
    if (o_.scenario == "editor") // as y-phoenix-channel does after each join: sync step 1
      send_binary_push(c, "yjs_sync", std::string_view{"\x00\x00\x01\x00", 4});
    return;
  }
  if (!f.ref.empty() && f.ref[0] == 'h')
    return; // heartbeat
  if (ok)
    ++replies_ok_;
  else {
    ++replies_error_;
    if (first_error_.empty())
      first_error_ = "error reply: " + std::string(f.payload.substr(0, 200));
  }
}

void loadgen::on_bench_message(std::size_t i, std::string_view payload, ns_t now) {
  std::int64_t seq = -1, t = 0;
  if (!find_int(payload, R"("seq":)", seq) || !find_int(payload, R"("t":)", t) || seq < 0) {
    ++other_frames_;
    if (first_error_.empty())
      first_error_ = "bench message without seq/t: " + std::string(payload.substr(0, 200));
    return;
  }
  conn& c = conns_[i];
  auto s = static_cast<std::uint64_t>(seq);
  if (s < c.expected) { // seen already (or reordered): never counted twice
    ++duplicated_;
    return;
  }
  if (s >= published_)
    learn_published();
  if (s >= published_) {
    ++other_frames_;
    if (first_error_.empty())
      first_error_ = "sequence number never published";
    return;
  }
  if (s > c.expected) { // a gap: what was skipped is lost; account for it so the window moves
    lost_ += s - c.expected;
    for (auto k = c.expected; k < s; ++k)
      if (k >= low_)
        ++ring_[k & ring_mask_];
  }
  c.expected = s + 1;
  ++ring_[s & ring_mask_];
  ++deliveries_;
  if (measuring_) {
    ++measured_deliveries_;
    latency_.record(now - t);
  }
}

void loadgen::on_room_message(std::size_t i, std::string_view payload, ns_t now) {
  std::int64_t member = -1, seq = -1, t = 0;
  auto text_at = payload.find(R"("text":")");
  auto user_at = payload.find(R"("username":"u)");
  if (text_at == std::string_view::npos || user_at == std::string_view::npos) {
    ++other_frames_;
    return;
  }
  std::string_view user = payload.substr(user_at + 13);
  std::string_view text = payload.substr(text_at + 8);
  auto r1 = std::from_chars(user.data(), user.data() + user.size(), member);
  auto r2 = std::from_chars(text.data(), text.data() + text.size(), seq);
  if (r1.ec != std::errc{} || r2.ec != std::errc{} || *r2.ptr != ' ' || member < 0
      || member >= o_.members) {
    ++other_frames_;
    return;
  }
  const char* tp = r2.ptr + 1;
  std::from_chars(tp, text.data() + text.size(), t);
  conn& c = conns_[i];
  auto& expected
    = room_expected_[i * static_cast<std::size_t>(o_.members) + static_cast<std::size_t>(member)];
  auto s = static_cast<std::uint64_t>(seq);
  if (s < expected) {
    ++duplicated_;
    return;
  }
  if (s > expected)
    lost_ += s - expected;
  expected = static_cast<std::uint32_t>(s + 1);
  ++deliveries_;
  if (measuring_) {
    ++measured_deliveries_;
    latency_.record(now - t);
  }
  if (member == c.member) { // our own message came back: send the next one
    --c.own_inflight;
    --room_inflight_;
    if (room_sending_) {
      room_send(i);
      flush(i);
    }
  }
}

// A V2 binary frame: a broadcast (kind 2) of an editor's update, or a push (kind 0) from the
// document's channel: its sync answer, and the sync step 1s it asks for an editor's state with.
void loadgen::on_binary(std::size_t i, std::string_view m, ns_t now) {
  auto byte = [&m](std::size_t at) {
    return static_cast<std::size_t>(static_cast<unsigned char>(m[at]));
  };
  if (m.size() >= 3 && m[0] == 2) {
    std::size_t head = 3 + byte(1);
    if (m.size() >= head + byte(2) && m.substr(head, byte(2)) == "yjs")
      return on_editor_update(i, m.substr(head + byte(2)), now);
  } else if (m.size() >= 4 && m[0] == 0) {
    std::size_t head = 4 + byte(1) + byte(2);
    if (m.size() >= head + byte(3) && m.substr(head, byte(3)) == "yjs"
        && m.substr(head + byte(3)) == std::string_view{"\x00\x00\x01\x00", 4}) {
      // "Send me your whole document": these editors' documents are the updates' own bytes,
      // which no Yjs could read; an empty state lets the channel age its log all the same.
      send_binary_push(conns_[i], "yjs", std::string_view{"\x00\x01\x02\x00\x00", 5});
      flush(i);
      return;
    }
  }
  ++other_frames_; // the sync answer, awareness
}

// An update message (0, 2, length 20, then the sender, its sequence number and its send time, as
// little-endian integers of 4, 8 and 8 bytes).
void loadgen::on_editor_update(std::size_t i, std::string_view payload, ns_t now) {
  if (payload.size() != 3 + 20 || payload[0] != 0 || payload[1] != 2 || payload[2] != 20) {
    ++other_frames_;
    return;
  }
  std::uint32_t member = 0;
  std::uint64_t seq = 0;
  std::int64_t t = 0;
  std::memcpy(&member, payload.data() + 3, 4);
  std::memcpy(&seq, payload.data() + 7, 8);
  std::memcpy(&t, payload.data() + 15, 8);
  auto n = static_cast<std::size_t>(o_.editors);
  if (member >= n || member == i) {
    ++other_frames_;
    return;
  }
  auto& expected = room_expected_[i * n + member];
  if (seq < expected) {
    ++duplicated_;
    return;
  }
  if (seq > expected)
    lost_ += seq - expected;
  expected = static_cast<std::uint32_t>(seq + 1);
  ++deliveries_;
  if (measuring_) {
    ++measured_deliveries_;
    latency_.record(now - t);
  }
  // The next editor in the ring witnesses each update: its sender may send another one.
  if (i == (member + 1) % n) {
    conn& sender = conns_[member];
    --sender.own_inflight;
    --room_inflight_;
    if (room_sending_) {
      editor_send(member);
      flush(member);
    }
  }
}

void loadgen::poll(int timeout_ms) {
  int n = epoll_wait(ep_, events_.data(), static_cast<int>(events_.size()), timeout_ms);
  ++polls_;
  for (int k = 0; k < n; ++k) {
    std::size_t i = events_[k].data.u64;
    if (i >= conns_.size()) { // the timer (handled by the caller), or the publisher's wake-up
      if (i == conns_.size() + 1) {
        std::uint64_t v = 0;
        [[maybe_unused]] auto r = read(sh_.wake_fd, &v, sizeof v);
      }
      continue;
    }
    if (conns_[i].st == state::closed)
      continue;
    if (events_[k].events & (EPOLLOUT | EPOLLERR))
      on_writable(i);
    if (conns_[i].st == state::closed)
      continue;
    if (events_[k].events & (EPOLLIN | EPOLLHUP | EPOLLERR))
      on_readable(i);
  }
  ns_t now = now_ns();
  heartbeat_tick(now);
}

// Every joined connection sends a heartbeat every 25 s (the server closes after 60 s of silence),
// spread over the seconds: one in 25 connections per tick.
void loadgen::heartbeat_tick(ns_t now) {
  if (now - last_heartbeat_tick_ < 1'000'000'000)
    return;
  last_heartbeat_tick_ = now;
  std::uint64_t slot = hb_round_++ % 25;
  for (std::size_t i = slot; i < conns_.size(); i += 25) {
    conn& c = conns_[i];
    if (c.st != state::joined)
      continue;
    send_text(c, "[null,\"h" + std::to_string(refs_++) + "\",\"phoenix\",\"heartbeat\",{}]");
    flush(i);
  }
}

// Once a second, from thread 0: the sums over every thread.
void loadgen::progress(ns_t now, const char* phase) {
  if (sh_.threads > 1) {
    auto relaxed = std::memory_order_relaxed;
    view_.deliveries.store(deliveries_, relaxed);
    view_.lost.store(lost_, relaxed);
    view_.duplicated.store(duplicated_, relaxed);
    view_.joined.store(joined_, relaxed);
    view_.failed.store(failed_, relaxed);
    view_.closed.store(closes_.total(), relaxed);
  }
  if (index_ != 0 || now - last_progress_ < 1'000'000'000)
    return;
  std::uint64_t deliveries = deliveries_, lost = lost_, duplicated = duplicated_;
  long joined = joined_, failed = failed_, closed = closes_.total();
  for (int t = 1; t < sh_.threads; ++t) {
    const view& v = sh_.workers[static_cast<std::size_t>(t)]->view_;
    deliveries += v.deliveries.load(std::memory_order_relaxed);
    lost += v.lost.load(std::memory_order_relaxed);
    duplicated += v.duplicated.load(std::memory_order_relaxed);
    joined += v.joined.load(std::memory_order_relaxed);
    failed += v.failed.load(std::memory_order_relaxed);
    closed += v.closed.load(std::memory_order_relaxed);
  }
  double rate = last_progress_t_ ? static_cast<double>(deliveries - last_progress_deliveries_)
                                     / seconds(now - last_progress_t_)
                                 : 0;
  last_progress_deliveries_ = deliveries;
  last_progress_t_ = now;
  last_progress_ = now;
  std::fprintf(stderr,
               "  [%s %s %s] joined %ld/%zu, failed %ld, closed %ld, deliveries %.0f/s, "
               "lost %llu, dup %llu\n",
               o_.label.c_str(), o_.scenario.c_str(), phase, joined, sh_.total, failed, closed,
               rate, static_cast<unsigned long long>(lost),
               static_cast<unsigned long long>(duplicated));
}

// Opens this thread's connections, at most its share of connect_concurrency handshakes at a
// time, and joins them; then waits for the other threads.
bool loadgen::setup() {
  ep_ = epoll_create1(EPOLL_CLOEXEC);
  if (index_ == 0 && sh_.wake_fd >= 0) {
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = conns_.size() + 1; // past the connections and the timer's tag
    epoll_ctl(ep_, EPOLL_CTL_ADD, sh_.wake_fd, &ev);
  }
  if (o_.scenario == "rooms") {
    for (std::size_t i = 0; i < conns_.size(); ++i) {
      std::size_t g = first_ + i;
      conns_[i].room = static_cast<std::int32_t>(g / static_cast<std::size_t>(o_.members));
      conns_[i].member = static_cast<std::int32_t>(g % static_cast<std::size_t>(o_.members));
    }
    room_expected_.assign(conns_.size() * static_cast<std::size_t>(o_.members), 0);
  }
  if (o_.scenario == "editor")
    room_expected_.assign(conns_.size() * conns_.size(), 0); // [receiver * editors + sender]
  ns_t deadline = now_ns() + static_cast<ns_t>(o_.setup_timeout * 1e9);
  while (true) {
    while (next_to_open_ < conns_.size() && in_handshake_ < connect_concurrency_)
      open_one(next_to_open_++);
    if (next_to_open_ == conns_.size() && in_handshake_ == 0)
      break;
    poll(100);
    ns_t now = now_ns();
    progress(now, "connect");
    if (now > deadline) {
      std::fprintf(stderr, "pulse-loadgen: setup timed out\n");
      break;
    }
  }
  return wait_for_all(deadline);
}

// The last thread to finish its setup sums everyone's up and starts the run; the others keep
// serving their connections (heartbeats) meanwhile. Every thread's setup ends by the same
// deadline, so the wait is bounded by it.
bool loadgen::wait_for_all(ns_t deadline) {
  setup_done_ = {t_first_connect_, joined_, failed_, first_error_,
                 index_ != 0 || conns_.empty() || conns_[0].st == state::joined};
  if (sh_.ready.fetch_add(1, std::memory_order_acq_rel) + 1 == sh_.threads) {
    ns_t now = now_ns();
    long joined = 0, failed = 0;
    std::string error;
    bool publisher = true;
    for (const loadgen* w : sh_.workers) { // each wrote setup_done_ before its fetch_add
      const auto& d = w->setup_done_;
      if (d.first_connect && (!sh_.t_first_connect || d.first_connect < sh_.t_first_connect))
        sh_.t_first_connect = d.first_connect;
      joined += d.joined;
      failed += d.failed;
      if (error.empty())
        error = d.first_error;
      publisher = publisher && d.publisher_joined;
    }
    sh_.t_all_joined = now;
    sh_.setup_cpu = self_cpu_seconds() - sh_.cpu_before;
    sh_.setup_server_cpu = o_.server_pid ? proc_cpu_seconds(o_.server_pid) - sh_.srv_cpu_before
                                         : -1;
    sh_.joined = joined;
    sh_.all_joined = joined == static_cast<long>(sh_.total);
    sh_.publisher_joined = publisher;
    std::fprintf(stderr, "  [%s %s] %ld connections joined in %.2f s (%ld failed)%s%s\n",
                 o_.label.c_str(), o_.scenario.c_str(), joined, seconds(now - sh_.t_first_connect),
                 failed, error.empty() ? "" : "; first error: ", error.c_str());
    bool needs_publisher = o_.scenario == "fanout" || o_.scenario == "latency";
    bool runnable = o_.scenario == "idle"
                    || ((sh_.all_joined || joined > 0) && (!needs_publisher || publisher));
    sh_.t0 = now_ns();
    sh_.go.store(runnable ? 1 : -1, std::memory_order_release);
  }
  ns_t give_up = deadline + 10'000'000'000;
  while (sh_.go.load(std::memory_order_acquire) == 0 && now_ns() < give_up)
    poll(50);
  if (sh_.go.load(std::memory_order_acquire) == 1)
    return true;
  view_.low.store(UINT64_MAX); // out of the run: holds no one back
  return false;
}

void loadgen::publish(std::int64_t count) {
  conn& c = conns_[0];
  if (c.st != state::joined)
    return;
  char buf[160];
  for (std::int64_t k = 0; k < count; ++k) {
    int n = std::snprintf(buf, sizeof buf,
                          R"(["1","%llu","bench","publish",{"seq":%llu,"t":%lld%s}])",
                          static_cast<unsigned long long>(refs_++),
                          static_cast<unsigned long long>(published_),
                          static_cast<long long>(now_ns()), pad_.c_str());
    if (pad_.empty() && texts_.empty()) {
      send_text(c, std::string_view(buf, static_cast<std::size_t>(n)));
    } else {
      std::string frame = R"(["1",")" + std::to_string(refs_++) + R"(","bench","publish",{"seq":)"
                          + std::to_string(published_) + R"(,"t":)" + std::to_string(now_ns())
                          + pad_ + (texts_.empty() ? "" : texts_[published_ % texts_.size()])
                          + "}]";
      send_text(c, frame);
    }
    ring_[published_ & ring_mask_] = 0;
    ++published_;
  }
  sh_.published.store(published_, std::memory_order_release); // before the frames leave
  flush(0);
}

// Another thread's view of the publisher's count; the ring slots of the newly published numbers
// start at 0. At most the window's worth of slots per call.
void loadgen::learn_published() {
  if (index_ == 0)
    return; // the publisher's own count is always current
  auto now = sh_.published.load(std::memory_order_acquire);
  for (; published_ < now; ++published_)
    ring_[published_ & ring_mask_] = 0;
}

// Moves the watermark past every sequence number that reached every live subscriber of this
// thread, and tells the publisher when it moved.
void loadgen::finish_counts() {
  learn_published();
  auto before = low_;
  while (low_ < published_ && static_cast<long>(ring_[low_ & ring_mask_]) >= alive_)
    ++low_;
  if (index_ == 0 || low_ == before)
    return;
  view_.low.store(low_);
  if (sh_.publisher_waiting.load() && sh_.publisher_waiting.exchange(false)) {
    std::uint64_t one = 1;
    [[maybe_unused]] auto r = write(sh_.wake_fd, &one, sizeof one);
  }
}

// Every sequence number below it reached every live subscriber, whichever thread holds it.
std::uint64_t loadgen::global_low() const {
  std::uint64_t low = low_;
  for (int t = 1; t < sh_.threads; ++t)
    low = std::min(low, sh_.workers[static_cast<std::size_t>(t)]->view_.low.load());
  return std::min(low, published_);
}

// The keys every scenario's result starts with (thread 0's, once it absorbed the others).
std::string loadgen::common_json() {
  double wall = seconds(m_end_ - m_start_);
  std::string reasons = "{";
  for (auto& [k, v] : closes_.reasons)
    reasons += (reasons.size() > 1 ? "," : "")
               + ("\"" + json_escape(k) + "\":" + std::to_string(v));
  reasons += "}";
  double setup_s = std::max(1e-9, seconds(sh_.t_all_joined - sh_.t_first_connect));
  // The process's CPU over its cores: 100 = every thread busy all along.
  double cpu_pct = wall > 0 ? 100 * (cpu_end_ - cpu_start_) / wall / sh_.threads : 0;
  char buf[2048];
  std::snprintf(
    buf, sizeof buf,
    "\"scenario\":\"%s\",\"server\":\"%s\",\"nodes\":%zu,\"subscribers\":%zu,\"requested\":%ld,"
    "\"fd_limit\":%ld,\"server_fd_limit\":%ld,\"note\":\"%s\",\"joined\":%ld,"
    "\"failed_connections\":%ld,\"closes\":%s,\"setup_s\":%.3f,\"connect_join_per_s\":%.0f,"
    "\"setup_loadgen_cpu_pct\":%.1f,\"setup_server_cpu_pct\":%.1f,"
    "\"measured_s\":%.3f,\"loadgen_threads\":%d,\"loadgen_cpu_s\":%.3f,\"loadgen_cpu_pct\":%.1f,"
    "\"loadgen_thread_cpu_max_pct\":%.1f,\"server_cpu_pct\":%.1f,"
    "\"server_core\":%d,\"server_core_busy_pct\":%.1f,\"loadgen_bound\":%s,"
    "\"frames_per_read\":%.2f,\"lost\":%llu,\"duplicated\":%llu,\"error_replies\":%llu,"
    "\"first_error\":\"%s\"",
    o_.scenario.c_str(), json_escape(o_.label).c_str(), std::max<std::size_t>(o_.ports.size(), 1),
    sh_.total, sh_.requested, sh_.fd_limit, sh_.server_fd_limit, json_escape(sh_.cut_note).c_str(),
    joined_, failed_, reasons.c_str(), setup_s, static_cast<double>(joined_) / setup_s,
    100 * sh_.setup_cpu / setup_s / sh_.threads,
    o_.server_pid ? 100 * sh_.setup_server_cpu / setup_s : -1, wall, sh_.threads,
    cpu_end_ - cpu_start_, cpu_pct, thread_cpu_max_pct_,
    wall > 0 && o_.server_pid ? 100 * (srv_cpu_end_ - srv_cpu_start_) / wall : -1, server_core_,
    server_core_busy_pct(),
    // One thread at its limit caps the run too, however idle the others.
    cpu_pct > 90 || thread_cpu_max_pct_ > 90 ? "true" : "false",
    measured_reads_ ? static_cast<double>(measured_frames_) / static_cast<double>(measured_reads_)
                    : 0,
    static_cast<unsigned long long>(lost_), static_cast<unsigned long long>(duplicated_),
    static_cast<unsigned long long>(replies_error_),
    json_escape(first_error_.substr(0, 300)).c_str());
  // Bytes on the wire: what the sockets gave over the measured seconds, per delivery counted in
  // them (headers, heartbeat replies and all); with compression, what it inflated to.
  char wire[512];
  auto per = [&](std::uint64_t v) {
    return measured_deliveries_
             ? std::to_string(static_cast<double>(v) / static_cast<double>(measured_deliveries_))
             : std::string("null");
  };
  std::snprintf(wire, sizeof wire,
                ",\"wire_bytes\":%llu,\"measured_wire_bytes\":%llu,\"wire_bytes_per_delivery\":%s,"
                "\"compress\":%s,\"compress_accepted\":%ld,\"compressed_messages\":%llu,"
                "\"measured_compressed_messages\":%llu,\"inflated_bytes_per_delivery\":%s,"
                "\"inflate_cache_hits\":%llu",
                static_cast<unsigned long long>(wire_bytes_),
                static_cast<unsigned long long>(measured_wire_bytes_),
                per(measured_wire_bytes_).c_str(), o_.compress ? "true" : "false", deflate_conns_,
                static_cast<unsigned long long>(compressed_messages_),
                static_cast<unsigned long long>(measured_compressed_),
                measured_compressed_ ? per(measured_inflated_bytes_).c_str() : "null",
                static_cast<unsigned long long>(inflate_cache_hits_));
  return buf + std::string(wire);
}

std::string latency_json(const histogram& h) {
  char buf[256];
  std::snprintf(buf, sizeof buf,
                "\"latency_samples\":%llu,\"p50_us\":%.1f,\"p90_us\":%.1f,\"p99_us\":%.1f,"
                "\"p999_us\":%.1f,\"max_us\":%.1f",
                static_cast<unsigned long long>(h.total()), h.percentile_us(0.5),
                h.percentile_us(0.9), h.percentile_us(0.99), h.percentile_us(0.999), h.max_us());
  return buf;
}

// Fan-out throughput: one publisher (connection 0, subscribed too), as fast as a window allows:
// at most W sequence numbers not yet received by every subscriber, in every thread. Thread 0
// publishes and watches for stalls; the others receive, and publish how far all of theirs got.
void loadgen::run_fanout() {
  long w = window_;
  bool publisher = index_ == 0;
  ns_t t0 = sh_.t0;
  ns_t m_begin = t0 + static_cast<ns_t>(o_.warmup * 1e9);
  ns_t m_stop = m_begin + static_cast<ns_t>(o_.duration * 1e9);
  auto drain = static_cast<ns_t>(o_.drain_timeout * 1e9);
  stall_watch watch{o_.stall_timeout, t0};
  while (true) {
    ns_t now = now_ns();
    if (!measuring_ && m_start_ == 0 && now >= m_begin)
      start_measure();
    if (measuring_ && now >= m_stop)
      end_measure();
    bool publishing = m_end_ == 0;
    bool done = true; // publisher: its count is final once it stops
    if (publisher) {
      if (!publishing)
        sh_.publishing_done.store(true);
      if (publishing && conns_[0].st == state::joined && conns_[0].out.size() < (1 << 20)) {
        if (sh_.threads > 1)
          sh_.publisher_waiting.store(true); // before reading the watermarks: no wake-up lost
        auto inflight = static_cast<long>(published_ - global_low());
        if (inflight < w)
          publish(w - inflight);
      }
      if (!publishing && global_low() == published_)
        break;
    } else {
      done = sh_.publishing_done.load();
      if (done)
        learn_published();
      if (done && low_ == published_)
        break;
      if (sh_.stop.load())
        break;
    }
    // The drain's bound; a thread left without the publisher's final count gives it as long again.
    if (!publishing && now - m_end_ > drain && (done || now - m_end_ > 2 * drain))
      break;
    if (alive_ == 0)
      break;
    poll(publishing ? 10 : 50);
    finish_counts();
    now = now_ns();
    if (publisher && (stalled_ = watch.stalled(global_low(), now))) {
      sh_.stop.store(true);
      break;
    }
    progress(now, m_end_ ? "drain" : (measuring_ ? "measure" : "warmup"));
  }
  if (measuring_)
    end_measure();
  if (publisher)
    sh_.publishing_done.store(true);
  view_.low.store(UINT64_MAX); // out of the run: holds no one back
  learn_published();
  // Whatever a live subscriber has not received by now is lost.
  for (auto& c : conns_)
    if (c.st == state::joined && c.expected < published_)
      lost_ += published_ - c.expected;
  double wall = seconds(m_end_ - m_start_);
  measured_rate_ = wall > 0 ? static_cast<double>(measured_deliveries_) / wall : 0;
}

// Thread 0, once it absorbed the others: the result line.
void loadgen::report_fanout() {
  auto s = static_cast<double>(sh_.total);
  std::printf("{%s,\"window\":%ld,\"published\":%llu,\"deliveries\":%llu,"
              "\"deliveries_per_s\":%.0f,\"publishes_per_s\":%.0f,\"stalled\":%s,"
              "\"saturated_latency\":{%s}}\n",
              common_json().c_str(), window_, static_cast<unsigned long long>(published_),
              static_cast<unsigned long long>(deliveries_), measured_rate_, measured_rate_ / s,
              stalled_ ? "true" : "false", latency_json(latency_).c_str());
}

// Latency at a fixed publish rate, paced by a timerfd.
void loadgen::run_latency() {
  auto s = static_cast<double>(conns_.size());
  double rate = o_.rate > 0 ? o_.rate : 50'000.0 / s;
  ring_.assign(1 << 20, 0);
  ring_mask_ = (1 << 20) - 1;
  int tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = conns_.size();
  epoll_ctl(ep_, EPOLL_CTL_ADD, tfd, &ev);
  auto interval = static_cast<ns_t>(1e9 / rate);
  itimerspec spec{};
  spec.it_value.tv_nsec = 1;
  spec.it_interval.tv_sec = interval / 1'000'000'000;
  spec.it_interval.tv_nsec = interval % 1'000'000'000;
  timerfd_settime(tfd, 0, &spec, nullptr);
  ns_t t0 = now_ns();
  ns_t m_begin = t0 + static_cast<ns_t>(o_.warmup * 1e9);
  ns_t m_stop = m_begin + static_cast<ns_t>(o_.duration * 1e9);
  std::uint64_t late_ticks = 0;
  while (true) {
    ns_t now = now_ns();
    if (!measuring_ && m_start_ == 0 && now >= m_begin)
      start_measure();
    if (measuring_ && now >= m_stop) {
      end_measure();
      itimerspec off{};
      timerfd_settime(tfd, 0, &off, nullptr);
    }
    if (m_end_ && low_ == published_)
      break;
    if (m_end_ && now - m_end_ > static_cast<ns_t>(o_.drain_timeout * 1e9))
      break;
    if (alive_ == 0)
      break;
    poll(20);
    std::uint64_t ticks = 0;
    if (read(tfd, &ticks, sizeof ticks) == sizeof ticks && ticks > 0 && !m_end_) {
      late_ticks += ticks - 1;
      publish(static_cast<std::int64_t>(ticks));
    }
    finish_counts();
    progress(now_ns(), m_end_ ? "drain" : (measuring_ ? "measure" : "warmup"));
  }
  close(tfd);
  for (auto& c : conns_)
    if (c.st == state::joined && c.expected < published_)
      lost_ += published_ - c.expected;
  double wall = seconds(m_end_ - m_start_);
  std::printf("{%s,\"rate_publishes_per_s\":%.1f,\"target_deliveries_per_s\":%.0f,"
              "\"deliveries_per_s\":%.0f,\"published\":%llu,\"deliveries\":%llu,"
              "\"late_timer_ticks\":%llu,%s}\n",
              common_json().c_str(), rate, rate * s,
              static_cast<double>(measured_deliveries_) / wall,
              static_cast<unsigned long long>(published_),
              static_cast<unsigned long long>(deliveries_),
              static_cast<unsigned long long>(late_ticks), latency_json(latency_).c_str());
}

void loadgen::room_send(std::size_t i) {
  conn& c = conns_[i];
  char buf[160];
  while (c.st == state::joined && c.own_inflight < o_.room_window) {
    int n = std::snprintf(buf, sizeof buf,
                          R"(["1","m%llu","room:bench%d","message",{"text":"%llu %lld"}])",
                          static_cast<unsigned long long>(refs_++), c.room,
                          static_cast<unsigned long long>(c.own_sent),
                          static_cast<long long>(now_ns()));
    send_text(c, std::string_view(buf, static_cast<std::size_t>(n)));
    ++c.own_sent;
    ++c.own_inflight;
    ++room_inflight_;
    ++room_sent_;
    room_due_ += static_cast<std::uint64_t>(o_.members);
    if (measuring_)
      ++measured_sent_;
  }
}

// Many rooms: every member keeps room_window messages of its own in flight (sends the next one
// when its own message comes back to it). Auto: 100,000 deliveries in flight in all (each message
// is delivered to k members), at least 1 and at most 4 per member.
void loadgen::run_rooms() {
  if (o_.room_window == 0) {
    auto n = static_cast<long>(conns_.size());
    o_.room_window = std::clamp(100'000L / std::max(1L, o_.members * n), 1L, 4L);
  }
  ns_t t0 = now_ns();
  ns_t m_begin = t0 + static_cast<ns_t>(o_.warmup * 1e9);
  ns_t m_stop = m_begin + static_cast<ns_t>(o_.duration * 1e9);
  room_sending_ = true;
  for (std::size_t i = 0; i < conns_.size(); ++i) {
    room_send(i);
    flush(i);
  }
  stall_watch watch{o_.stall_timeout, t0};
  bool stalled = false;
  while (true) {
    ns_t now = now_ns();
    if (!measuring_ && m_start_ == 0 && now >= m_begin)
      start_measure();
    if (measuring_ && now >= m_stop) {
      end_measure();
      room_sending_ = false;
    }
    // Done once every member received every message (not only its own back), or lost some.
    if (m_end_ && room_inflight_ == 0 && deliveries_ + lost_ >= room_due_)
      break;
    if (m_end_ && now - m_end_ > static_cast<ns_t>(o_.drain_timeout * 1e9))
      break;
    if (alive_ == 0)
      break;
    poll(50);
    now = now_ns();
    if ((stalled = watch.stalled(deliveries_, now)))
      break;
    progress(now, m_end_ ? "drain" : (measuring_ ? "measure" : "warmup"));
  }
  if (measuring_)
    end_measure();
  // What a live member has not received of what its room's members sent is lost.
  auto k = static_cast<std::size_t>(o_.members);
  for (std::size_t i = 0; i < conns_.size(); ++i) {
    if (conns_[i].st != state::joined)
      continue;
    std::size_t first = i / k * k;
    for (std::size_t m = 0; m < k; ++m)
      if (conns_[first + m].own_sent > room_expected_[i * k + m])
        lost_ += conns_[first + m].own_sent - room_expected_[i * k + m];
  }
  double wall = seconds(m_end_ - m_start_);
  std::printf("{%s,\"rooms\":%ld,\"members\":%ld,\"room_window\":%ld,\"sent\":%llu,"
              "\"deliveries\":%llu,\"deliveries_per_s\":%.0f,\"messages_per_s\":%.0f,"
              "\"replies_ok\":%llu,\"stalled\":%s,%s}\n",
              common_json().c_str(), o_.rooms, o_.members, o_.room_window,
              static_cast<unsigned long long>(room_sent_),
              static_cast<unsigned long long>(deliveries_),
              static_cast<double>(measured_deliveries_) / wall,
              static_cast<double>(measured_sent_) / wall,
              static_cast<unsigned long long>(replies_ok_), stalled ? "true" : "false",
              latency_json(latency_).c_str());
}

void loadgen::editor_send(std::size_t i) {
  conn& c = conns_[i];
  char message[3 + 20] = {0, 2, 20};
  while (c.st == state::joined && c.own_inflight < o_.editor_window) {
    auto member = static_cast<std::uint32_t>(i);
    std::uint64_t seq = c.own_sent;
    std::int64_t t = now_ns();
    std::memcpy(message + 3, &member, 4);
    std::memcpy(message + 7, &seq, 8);
    std::memcpy(message + 15, &t, 8);
    send_binary_push(c, "yjs", std::string_view{message, sizeof message});
    ++c.own_sent;
    ++c.own_inflight;
    ++room_inflight_;
    ++room_sent_;
    room_due_ += static_cast<std::uint64_t>(o_.editors - 1);
    if (measuring_)
      ++measured_sent_;
  }
}

// One document, every editor sending small binary updates (y-protocols update messages) that the
// channel relays to all the others: each keeps editor_window of its own in flight, and sends the
// next once the editor after it in the ring received one. Auto: about 100,000 deliveries in
// flight, 1 to 4 per editor.
void loadgen::run_editor() {
  auto n = static_cast<long>(conns_.size());
  if (o_.editor_window == 0)
    o_.editor_window = std::clamp(100'000L / std::max(1L, n * (n - 1)), 1L, 4L);
  ns_t t0 = now_ns();
  ns_t m_begin = t0 + static_cast<ns_t>(o_.warmup * 1e9);
  ns_t m_stop = m_begin + static_cast<ns_t>(o_.duration * 1e9);
  room_sending_ = true;
  for (std::size_t i = 0; i < conns_.size(); ++i) {
    editor_send(i);
    flush(i);
  }
  stall_watch watch{o_.stall_timeout, t0};
  bool stalled = false;
  while (true) {
    ns_t now = now_ns();
    if (!measuring_ && m_start_ == 0 && now >= m_begin)
      start_measure();
    if (measuring_ && now >= m_stop) {
      end_measure();
      room_sending_ = false;
    }
    if (m_end_ && room_inflight_ == 0 && deliveries_ + lost_ >= room_due_)
      break;
    if (m_end_ && now - m_end_ > static_cast<ns_t>(o_.drain_timeout * 1e9))
      break;
    if (alive_ == 0)
      break;
    poll(50);
    now = now_ns();
    if ((stalled = watch.stalled(deliveries_, now)))
      break;
    progress(now, m_end_ ? "drain" : (measuring_ ? "measure" : "warmup"));
  }
  if (measuring_)
    end_measure();
  // What a live editor has not received of what the others sent is lost.
  auto k = conns_.size();
  for (std::size_t i = 0; i < k; ++i) {
    if (conns_[i].st != state::joined)
      continue;
    for (std::size_t m = 0; m < k; ++m)
      if (m != i && conns_[m].own_sent > room_expected_[i * k + m])
        lost_ += conns_[m].own_sent - room_expected_[i * k + m];
  }
  double wall = seconds(m_end_ - m_start_);
  std::printf("{%s,\"editors\":%ld,\"editor_window\":%ld,\"sent\":%llu,\"deliveries\":%llu,"
              "\"deliveries_per_s\":%.0f,\"updates_per_s\":%.0f,\"stalled\":%s,%s}\n",
              common_json().c_str(), o_.editors, o_.editor_window,
              static_cast<unsigned long long>(room_sent_),
              static_cast<unsigned long long>(deliveries_),
              static_cast<double>(measured_deliveries_) / wall,
              static_cast<double>(measured_sent_) / wall, stalled ? "true" : "false",
              latency_json(latency_).c_str());
}

void loadgen::run_idle() {
  // Let the server settle (allocator, queues), then read its RSS.
  start_measure();
  ns_t until = now_ns() + static_cast<ns_t>(o_.settle * 1e9);
  while (now_ns() < until)
    poll(50);
  end_measure();
  long rss_after = o_.server_pid ? proc_status_kib(o_.server_pid, "VmRSS") : -1;
  double per = joined_ > 0 && rss_after >= 0 ? static_cast<double>(rss_after - sh_.rss_before)
                                                 * 1024.0 / static_cast<double>(joined_)
                                             : -1;
  std::printf(
    "{%s,\"rss_before_kib\":%ld,\"rss_after_kib\":%ld,\"rss_per_connection_bytes\":%.0f}\n",
    common_json().c_str(), sh_.rss_before, rss_after, per);
}

// Chat-like texts of about `bytes` bytes each: words drawn from a small vocabulary, a different
// text for each of 64 publishes in turn (a seeded generator: every run sends the same ones).
std::vector<std::string> chat_texts(long bytes) {
  static constexpr std::string_view words[]
    = {"the",     "a",        "to",        "and",     "of",       "in",      "is",      "it",
       "you",     "that",     "for",       "on",      "with",     "this",    "we",      "be",
       "at",      "have",     "not",       "are",     "but",      "can",     "will",    "just",
       "so",      "what",     "about",     "meeting", "tomorrow", "deploy",  "release", "review",
       "branch",  "server",   "client",    "build",   "test",     "failing", "fixed",   "thanks",
       "sounds",  "good",     "morning",   "lunch",   "anyone",   "seen",    "latency", "dashboard",
       "ticket",  "customer", "issue",     "later",   "today",    "please",  "check",   "update",
       "numbers", "looks",    "great",     "maybe",   "should",   "think",   "know",    "need",
       "after",   "before",   "yesterday", "channel", "message",  "again",   "still",   "working",
       "weekend", "call"};
  constexpr std::size_t nwords = sizeof words / sizeof words[0];
  std::uint64_t x = 0x2545f4914f6cdd1dull;
  std::vector<std::string> texts;
  for (int k = 0; k < 64; ++k) {
    std::string t;
    while (static_cast<long>(t.size()) < bytes) {
      x ^= x << 13;
      x ^= x >> 7;
      x ^= x << 17;
      if (!t.empty())
        t += (x >> 40) % 9 == 0 ? ", " : " ";
      t += words[(x >> 16) % nwords];
    }
    texts.push_back(",\"user\":\"u" + std::to_string(1000 + (x >> 24) % 9000) + "\",\"text\":\"" + t
                    + ".\"");
  }
  return texts;
}

void loadgen::thread_main() {
  if (o_.pad > 0)
    pad_ = ",\"pad\":\"" + std::string(static_cast<std::size_t>(o_.pad), 'x') + "\"";
  if (o_.text > 0)
    texts_ = chat_texts(o_.text);
  if (o_.scenario == "fanout") {
    // Sized before the setup: a thread still waiting for the others receives the first messages.
    auto s = static_cast<long>(sh_.total);
    window_ = o_.window > 0 ? o_.window : std::clamp(200'000L / std::max(1L, s), 4L, 1024L);
    std::size_t ring = 1;
    while (ring < static_cast<std::size_t>(window_) * 2)
      ring <<= 1;
    ring_.assign(ring, 0);
    ring_mask_ = ring - 1;
  }
  if (!setup())
    return;
  if (o_.scenario == "fanout")
    run_fanout(); // every thread; the result is printed once they all finished
  else if (o_.scenario == "latency")
    run_latency(); // these three run on one thread and print their own result
  else if (o_.scenario == "rooms")
    run_rooms();
  else if (o_.scenario == "editor")
    run_editor();
  else
    run_idle();
}

void loadgen::absorb(const loadgen& other) {
  joined_ += other.joined_;
  failed_ += other.failed_;
  closes_.merge(other.closes_);
  if (first_error_.empty())
    first_error_ = other.first_error_;
  deliveries_ += other.deliveries_;
  measured_deliveries_ += other.measured_deliveries_;
  lost_ += other.lost_;
  duplicated_ += other.duplicated_;
  reads_ += other.reads_;
  frames_ += other.frames_;
  polls_ += other.polls_;
  measured_reads_ += other.measured_reads_;
  measured_frames_ += other.measured_frames_;
  other_frames_ += other.other_frames_;
  replies_ok_ += other.replies_ok_;
  replies_error_ += other.replies_error_;
  join_errors_ += other.join_errors_;
  wire_bytes_ += other.wire_bytes_;
  measured_wire_bytes_ += other.measured_wire_bytes_;
  compressed_messages_ += other.compressed_messages_;
  inflate_cache_hits_ += other.inflate_cache_hits_;
  measured_compressed_ += other.measured_compressed_;
  measured_inflated_bytes_ += other.measured_inflated_bytes_;
  deflate_conns_ += other.deflate_conns_;
  latency_.merge(other.latency_);
  measured_rate_ += other.measured_rate_;
  thread_cpu_max_pct_ = std::max(thread_cpu_max_pct_, other.thread_cpu_max_pct_);
  stalled_ = stalled_ || other.stalled_;
}

void loadgen::report() {
  if (sh_.go.load() != 1) {
    if (sh_.joined == 0)
      std::printf("{%s,\"error\":\"no connection joined\"}\n", common_json().c_str());
    else
      die("the publisher's connection did not join");
  } else if (o_.scenario == "fanout") {
    report_fanout();
  }
  std::fflush(stdout);
}

void loadgen::close_all() {
  if (inflater_ready_) {
    inflateEnd(&inflater_);
    inflater_ready_ = false;
  }
  for (auto& c : conns_) {
    if (c.fd < 0)
      continue;
    linger lg{1, 0};
    setsockopt(c.fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    close(c.fd);
    c.fd = -1;
  }
}

} // namespace

int main(int argc, char** argv) {
  shared_run sh;
  sh.o = parse_options(argc, argv);
  plan_connections(sh);
  // Contiguous shares; thread 0's starts with connection 0, the publisher.
  sh.threads = static_cast<int>(std::clamp<std::size_t>(static_cast<std::size_t>(sh.o.threads), 1,
                                                        std::max<std::size_t>(sh.total, 1)));
  if (sh.threads != sh.o.threads)
    std::fprintf(stderr, "pulse-loadgen: %d threads for %zu connections\n", sh.threads, sh.total);
  if (sh.threads > 1)
    sh.wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  std::vector<std::unique_ptr<loadgen>> workers;
  auto n = static_cast<std::size_t>(sh.threads);
  for (std::size_t t = 0; t < n; ++t) {
    std::size_t first = sh.total * t / n;
    workers.push_back(
      std::make_unique<loadgen>(sh, static_cast<int>(t), first, sh.total * (t + 1) / n - first));
    sh.workers.push_back(workers.back().get());
  }
  sh.rss_before = sh.o.server_pid ? proc_status_kib(sh.o.server_pid, "VmRSS") : -1;
  sh.cpu_before = self_cpu_seconds();
  sh.srv_cpu_before = sh.o.server_pid ? proc_cpu_seconds(sh.o.server_pid) : 0;
  std::vector<std::thread> threads;
  for (std::size_t t = 1; t < n; ++t)
    threads.emplace_back([&w = *workers[t]] { w.thread_main(); });
  workers[0]->thread_main();
  for (auto& th : threads)
    th.join();
  for (std::size_t t = 1; t < n; ++t)
    workers[0]->absorb(*workers[t]);
  workers[0]->report();
  for (auto& w : workers)
    w->close_all();
  const loadgen& all = *workers[0];
  return sh.all_joined && all.clean() ? 0 : 1;
}
