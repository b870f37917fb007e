//! Prints the bytes a cold load of each URL given transfers (every response's headers and body as
//! received, in a new browser context: empty cache), as Markdown table rows (scripts/lighthouse.sh).
//!
//!   node tools/transfer-size.js NAME=URL ...

import { launch } from '../lib/browser.js';

const browser = await launch();
try {
  for (const arg of process.argv.slice(2)) {
    const [name, url] = [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)];
    const context = await browser.newContext();
    const page = await context.newPage();
    const sizes = [];
    page.on('requestfinished', (req) => sizes.push(req.sizes().then((z) => z.responseHeadersSize + z.responseBodySize)));
    await page.goto(url, { waitUntil: 'networkidle' });
    const bytes = (await Promise.all(sizes)).reduce((a, b) => a + b, 0);
    console.log(`| ${name} | ${sizes.length} | ${(bytes / 1024).toFixed(1)} KB |`);
    await context.close();
  }
} finally {
  await browser.close();
}
