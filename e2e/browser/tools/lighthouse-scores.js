//! Prints one Markdown table row per Lighthouse JSON report given: the page, its accessibility
//! and best-practices scores, and the audits that did not pass (scripts/lighthouse.sh).
//!
//!   node tools/lighthouse-scores.js NAME=REPORT.json ...

import { readFileSync } from 'node:fs';

for (const arg of process.argv.slice(2)) {
  const at = arg.lastIndexOf('=');
  const [name, path] = [arg.slice(0, at), arg.slice(at + 1)];
  const report = JSON.parse(readFileSync(path, 'utf8'));
  const score = (id) => Math.round((report.categories[id]?.score ?? 0) * 100);
  const failed = Object.values(report.categories)
    .flatMap((c) => c.auditRefs.filter((r) => r.weight > 0).map((r) => report.audits[r.id]))
    .filter((a) => a && a.score !== null && a.score < 1)
    .map((a) => a.id);
  console.log(`| ${name} | ${score('accessibility')} | ${score('best-practices')} | ${failed.join(', ') || 'none'} |`);
}
