// The cluster benchmark's last rows, from the follow client's JSON, B's /metrics and A's count of
// signals sent before and after: node bench/cluster-report.mjs FOLLOW.json B-METRICS.txt SENT0 SENT1
import { readFileSync } from "node:fs";
const [followFile, metricsFile, sent0, sent1] = process.argv.slice(2);
const r = JSON.parse(readFileSync(followFile, "utf8"));
const lines = readFileSync(metricsFile, "utf8").split("\n");
// The bus lag histogram on B: the smallest bucket bound holding 50 % and 99 % of the signals.
const buckets = lines
  .filter((l) => l.startsWith("mosaic_bus_lag_seconds_bucket"))
  .map((l) => [l.match(/le="([^"]+)"/)[1], Number(l.split(" ").pop())]);
const count = buckets.length ? buckets[buckets.length - 1][1] : 0;
const bound = (q) => {
  const b = buckets.find(([, n]) => n >= q * count);
  if (!b) return "?";
  return b[0] === "+Inf" ? "> 60 s" : `≤ ${Number(b[0]) * 1000} ms`;
};
const per = (Number(sent1) - Number(sent0)) / r.replies;
console.log(
  [
    `| a piece shown on A, then on B (${r.finished} of ${r.replies} replies followed, ${r.pieces} pieces) | p50 ${r.p50} ms | p99 ${r.p99} ms |`,
    `| the same, after each follower's first second (its catch-up from the saved text) | p50 ${r.steadyP50} ms | p99 ${r.steadyP99} ms |`,
    `| bus lag, NOTIFY on A to delivery on B (${count} signals, B's mosaic_bus_lag_seconds) | p50 ${bound(0.5)} | p99 ${bound(0.99)} |`,
    `| NOTIFY signals per reply (A's mosaic_bus_signals_sent_total; the ${r.replies} replies took ${r.seconds} s in all) | ${per.toFixed(1)} per reply | about ${(per / Number(r.seconds)).toFixed(1)} per reply-second |`,
  ].join("\n"),
);
