"""A tiny headless-Chromium driver over the DevTools protocol (aiohttp websocket client).

Used by the viewer test: load a local HTML file offline, collect console errors, exceptions and
network requests, evaluate JavaScript and take screenshots.
"""

from __future__ import annotations

import asyncio
import base64
import json
import re
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

OFFLINE_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    # Software WebGL (plotly's 3D view needs WebGL; there is no GPU).
    "--use-angle=swiftshader", "--enable-unsafe-swiftshader",
    "--window-size=1400,900",
]


def find_chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome", "chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


class PageSession:
    """Events and replies of one page target."""

    def __init__(self, ws: Any) -> None:
        self.ws = ws
        self._next = 0
        self._pending: dict[int, asyncio.Future] = {}
        self.events: list[dict] = []
        self._reader = asyncio.ensure_future(self._read())

    async def _read(self) -> None:
        async for msg in self.ws:
            data = json.loads(msg.data)
            if "id" in data and data["id"] in self._pending:
                self._pending.pop(data["id"]).set_result(data)
            elif "method" in data:
                self.events.append(data)

    async def send(self, method: str, timeout: float = 30.0, **params: Any) -> dict:
        self._next += 1
        fut: asyncio.Future = asyncio.get_running_loop().create_future()
        self._pending[self._next] = fut
        await self.ws.send_str(json.dumps({"id": self._next, "method": method,
                                           "params": params}))
        reply = await asyncio.wait_for(fut, timeout)
        if "error" in reply:
            raise RuntimeError(f"{method}: {reply['error']}")
        return reply.get("result", {})

    async def evaluate(self, expression: str, timeout: float = 30.0) -> Any:
        res = await self.send("Runtime.evaluate", timeout=timeout, expression=expression,
                              awaitPromise=True, returnByValue=True)
        if "exceptionDetails" in res:
            raise RuntimeError(f"JS error: {res['exceptionDetails']}")
        return res["result"].get("value")

    def console_errors(self) -> list[str]:
        out = []
        for ev in self.events:
            m, p = ev["method"], ev.get("params", {})
            if m == "Runtime.exceptionThrown":
                out.append(json.dumps(p.get("exceptionDetails", {}))[:500])
            elif m == "Runtime.consoleAPICalled" and p.get("type") in ("error", "assert"):
                out.append(json.dumps(p.get("args", []))[:500])
            elif m == "Log.entryAdded" and p.get("entry", {}).get("level") == "error":
                out.append(p["entry"].get("text", "")[:500])
        return out

    def requested_urls(self) -> list[str]:
        return [ev["params"]["request"]["url"] for ev in self.events
                if ev["method"] == "Network.requestWillBeSent"]


async def _with_page(chromium: str, html: Path, steps: Any, timeout: float) -> Any:
    import aiohttp

    profile = tempfile.mkdtemp(prefix="monopose-chromium-")
    proc = subprocess.Popen(
        [chromium, *OFFLINE_FLAGS, f"--user-data-dir={profile}", "--remote-debugging-port=0",
         "about:blank"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        port = None
        deadline = time.monotonic() + timeout
        assert proc.stderr is not None
        while port is None and time.monotonic() < deadline:
            line = await asyncio.get_running_loop().run_in_executor(None, proc.stderr.readline)
            if not line and proc.poll() is not None:
                raise RuntimeError(f"chromium exited with code {proc.returncode}")
            m = re.search(r"DevTools listening on ws://[^:]+:(\d+)/", line)
            if m:
                port = int(m.group(1))
        if port is None:
            raise RuntimeError("chromium did not report a DevTools port")
        async with aiohttp.ClientSession() as http:
            targets = []
            while not targets and time.monotonic() < deadline:
                async with http.get(f"http://127.0.0.1:{port}/json/list") as resp:
                    targets = [t for t in await resp.json() if t.get("type") == "page"]
                if not targets:
                    await asyncio.sleep(0.1)
            async with http.ws_connect(targets[0]["webSocketDebuggerUrl"],
                                       max_msg_size=0) as ws:
                page = PageSession(ws)
                for domain in ("Runtime", "Log", "Network", "Page"):
                    await page.send(f"{domain}.enable")
                await page.send("Page.navigate", url=html.resolve().as_uri())
                while time.monotonic() < deadline:
                    ready = await page.evaluate(
                        "document.body && document.body.getAttribute('data-ready')")
                    if ready == "1" or page.console_errors():
                        break
                    await asyncio.sleep(0.2)
                result = await steps(page)
                try:
                    await page.send("Browser.close", timeout=5)
                except Exception:  # noqa: BLE001 - the browser may close the socket first
                    pass
                return result
    finally:
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if proc.stderr is not None:
            proc.stderr.close()
        shutil.rmtree(profile, ignore_errors=True)


def run_page(chromium: str, html: Path, steps: Any, timeout: float = 60.0) -> Any:
    """Open ``html`` in a fresh headless Chromium, wait for ``data-ready``, run ``await
    steps(page)`` and return its result."""
    return asyncio.run(_with_page(chromium, html, steps, timeout))


async def screenshot_element(page: PageSession, selector: str) -> bytes:
    """PNG bytes of the element's bounding box."""
    rect = await page.evaluate(
        f"(function(){{const r=document.querySelector({json.dumps(selector)})"
        ".getBoundingClientRect();return [r.x,r.y,r.width,r.height];})()")
    shot = await page.send("Page.captureScreenshot", format="png",
                           clip={"x": rect[0], "y": rect[1], "width": rect[2],
                                 "height": rect[3], "scale": 1})
    return base64.b64decode(shot["data"])
