// The cluster benchmark's client (run with node --experimental-websocket): N replies started on
// instance A, each followed from instance B; for every piece B shows, the time since A showed the
// same characters. Prints JSON: replies, pieces measured, p50/p99 in ms (all, and leaving out each
// follower's first second), seconds taken.
//
//   node --experimental-websocket bench/cluster.mjs BASE_A BASE_B "mosaic_session=…" [N]
const [baseA, baseB, cookie, n = "100"] = process.argv.slice(2);
const replies = Number(n);
const words = Array.from({ length: 40 }, (_, i) => `w${i}`).join(" ");
const open = (base) =>
  new Promise((resolve, reject) => {
    const ws = new WebSocket(base.replace("http", "ws") + "/ws", { headers: { cookie } });
    ws.onopen = () => resolve(ws);
    ws.onerror = (e) => reject(new Error(`${base}: ${e.message ?? "cannot connect"}`));
  });
const started = performance.now();
const latencies = [];
// The same, leaving out each follower's first second (its catch-up from the saved text).
const steady = [];
let finished = 0;
const problems = [];

async function one() {
  const a = await open(baseA);
  // When A showed each character: seenA[k] = the time character k arrived on A.
  const seenA = [];
  let b;
  let shownB = 0;
  return new Promise((resolve) => {
    a.onmessage = async (m) => {
      const e = JSON.parse(m.data);
      if (e.type === "started") {
        b = await open(baseB);
        const joined = performance.now();
        b.onmessage = (m2) => {
          const f = JSON.parse(m2.data);
          if (f.type === "started") shownB = [...f.text].length;
          else if (f.type === "delta") {
            shownB += [...f.text].length;
            const at = seenA[shownB - 1];
            const now = performance.now();
            if (at !== undefined) {
              latencies.push(now - at);
              if (now - joined > 1000) steady.push(now - at);
            }
          } else if (f.type === "finished") {
            finished++;
            b.close();
            resolve();
          } else if (f.type === "error") problems.push(f.message);
        };
        b.send(JSON.stringify({ type: "subscribe", conversationId: e.conversationId }));
      } else if (e.type === "delta") {
        const now = performance.now();
        for (const _ of e.text) seenA.push(now);
      } else if (e.type === "finished") a.close();
      else if (e.type === "error") {
        problems.push(e.message);
        resolve();
      }
    };
    a.send(JSON.stringify({ type: "send", content: words, model: "demo/standin-slow" }));
  });
}

await Promise.all(Array.from({ length: replies }, () => one()));
latencies.sort((x, y) => x - y);
steady.sort((x, y) => x - y);
const pick = (q, all = latencies) => all[Math.min(all.length - 1, Math.floor(q * all.length))] ?? null;
console.log(
  JSON.stringify({
    replies,
    finished,
    pieces: latencies.length,
    p50: pick(0.5)?.toFixed(1),
    p99: pick(0.99)?.toFixed(1),
    steadyP50: pick(0.5, steady)?.toFixed(1),
    steadyP99: pick(0.99, steady)?.toFixed(1),
    seconds: ((performance.now() - started) / 1000).toFixed(1),
    problems: problems.slice(0, 3),
  }),
);
process.exit(0);
