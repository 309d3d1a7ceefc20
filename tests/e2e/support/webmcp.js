// Chromium with WebMCP on (`--enable-features=WebMCP`), for the specs that check what a page offers
// the browser's own agent through `page.webmcp`.
export const WEBMCP_LAUNCH = {
  executablePath: process.env.CHROMIUM_PATH || "/usr/bin/chromium",
  args: [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--enable-features=WebMCP",
  ],
};
