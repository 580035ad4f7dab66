//! Just enough of W3C WebDriver, over reqwest, to drive Debian's Chromium through chromedriver:
//! navigate, find, click, type, read, run a script, resize, screenshot.

use base64::Engine;
use kassa_testkit::{PATIENCE, eventually, until};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// A phone (CSS pixels) and a desktop window.
pub const PHONE: (u32, u32) = (390, 844);
pub const DESKTOP: (u32, u32) = (1280, 900);

fn binary(env: &str, default: &str) -> String {
    std::env::var(env).unwrap_or_else(|_| default.to_owned())
}

/// A chromedriver process on a free loopback port; killed on drop.
pub struct Driver {
    pub url: String,
    process: Child,
    http: reqwest::Client,
}

impl Driver {
    pub async fn start() -> Self {
        let path = binary("KASSA_CHROMEDRIVER", "/usr/bin/chromedriver");
        assert!(
            Path::new(&path).exists(),
            "{path} is missing: scripts/test installs Debian's chromium and chromium-driver"
        );
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let process = Command::new(&path)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("starting {path}: {e}"));
        let driver = Self { url: format!("http://127.0.0.1:{port}"), process, http: reqwest::Client::new() };
        eventually("chromedriver to become ready", PATIENCE, || async {
            let ready = driver.http.get(format!("{}/status", driver.url)).send().await;
            match ready {
                Ok(reply) => match reply.json::<Value>().await {
                    Ok(body) if body["value"]["ready"] == true => Ok(()),
                    Ok(body) => Err(body.to_string()),
                    Err(error) => Err(error.to_string()),
                },
                Err(error) => Err(error.to_string()),
            }
        })
        .await;
        driver
    }

    /// A new headless browser window of `size`.
    pub async fn browser(&self, size: (u32, u32)) -> Browser {
        let chromium = binary("KASSA_CHROMIUM", "/usr/bin/chromium");
        let capabilities = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": chromium,
                "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                         "--no-first-run", "--hide-scrollbars", "--force-device-scale-factor=1",
                         format!("--window-size={},{}", size.0, size.1)],
            },
        }}});
        let reply: Value = self
            .http
            .post(format!("{}/session", self.url))
            .json(&capabilities)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let id = reply["value"]["sessionId"].as_str().unwrap_or_else(|| panic!("no browser session: {reply}"));
        let browser = Browser { base: format!("{}/session/{id}", self.url), http: self.http.clone() };
        browser.resize(size).await;
        browser
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.process.kill();
        let _ = self.process.wait();
    }
}

/// One browser window (a WebDriver session).
pub struct Browser {
    base: String,
    http: reqwest::Client,
}

impl Browser {
    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let mut request = self.http.request(method, format!("{}{path}", self.base));
        if let Some(body) = body {
            request = request.json(&body);
        }
        let reply: Value = request.send().await.unwrap().json().await.unwrap();
        if let Some(error) = reply["value"]["error"].as_str() {
            panic!("WebDriver {path}: {error}: {}", reply["value"]["message"]);
        }
        reply["value"].clone()
    }

    async fn post(&self, path: &str, body: Value) -> Value {
        self.call(reqwest::Method::POST, path, Some(body)).await
    }

    pub async fn goto(&self, url: &str) {
        self.post("/url", json!({ "url": url })).await;
    }

    pub async fn url(&self) -> String {
        self.call(reqwest::Method::GET, "/url", None).await.as_str().unwrap().to_owned()
    }

    pub async fn resize(&self, (width, height): (u32, u32)) {
        self.post("/window/rect", json!({ "width": width, "height": height })).await;
    }

    /// Runs `script` (a function body; `arguments` holds `args`) and returns what it returns.
    pub async fn run(&self, script: &str, args: Value) -> Value {
        self.post("/execute/sync", json!({ "script": script, "args": args })).await
    }

    async fn element(&self, css: &str) -> String {
        let found = self.post("/element", json!({ "using": "css selector", "value": css })).await;
        found[ELEMENT].as_str().unwrap().to_owned()
    }

    /// Waits for `css` to match, then clicks it.
    pub async fn click(&self, css: &str) {
        self.wait_for_element(css).await;
        let id = self.element(css).await;
        self.post(&format!("/element/{id}/click"), json!({})).await;
    }

    /// Waits for `css` to match, then types `text` into it.
    pub async fn type_into(&self, css: &str, text: &str) {
        self.wait_for_element(css).await;
        let id = self.element(css).await;
        self.post(&format!("/element/{id}/clear"), json!({})).await;
        self.post(&format!("/element/{id}/value"), json!({ "text": text })).await;
    }

    /// The text of the first element `css` matches, or `None`.
    pub async fn text(&self, css: &str) -> Option<String> {
        let text = self
            .run("const e = document.querySelector(arguments[0]); return e ? e.innerText : null;", json!([css]))
            .await;
        text.as_str().map(str::to_owned)
    }

    pub async fn attribute(&self, css: &str, name: &str) -> Option<String> {
        let script = "const e = document.querySelector(arguments[0]); return e ? e.getAttribute(arguments[1]) : null;";
        self.run(script, json!([css, name])).await.as_str().map(str::to_owned)
    }

    pub async fn wait_for_element(&self, css: &str) {
        self.wait_until(&format!("an element {css}"), || async {
            self.run("return document.querySelector(arguments[0]) !== null;", json!([css])).await == true
        })
        .await;
    }

    /// Waits until the text of `css` contains `expected`; returns the text.
    pub async fn wait_for_text(&self, css: &str, expected: &str) -> String {
        self.wait_until(&format!("{css} to say {expected:?}"), || async {
            self.text(css).await.is_some_and(|t| t.contains(expected))
        })
        .await;
        self.text(css).await.unwrap()
    }

    /// Waits until the browser is at a URL starting with `prefix`; returns the URL.
    pub async fn wait_for_url(&self, prefix: &str) -> String {
        self.wait_until(&format!("the browser at {prefix}…"), || async { self.url().await.starts_with(prefix) }).await;
        self.url().await
    }

    pub async fn wait_until<F, Fut>(&self, what: &str, condition: F)
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = bool>,
    {
        if until(PATIENCE, condition).await.is_err() {
            let url = self.url().await;
            let body = self.text("body").await.unwrap_or_default();
            panic!("waited {PATIENCE:?} for {what}; at {url}:\n{body}");
        }
    }

    /// Whole-page screenshots at phone and desktop width, as `target/screenshots/<name>-phone.png`
    /// and `…-desktop.png`; the window is left at `keep`.
    pub async fn screenshots(&self, name: &str, keep: (u32, u32)) {
        for (label, size) in [("phone", PHONE), ("desktop", DESKTOP)] {
            self.resize(size).await;
            // As tall as the page (the window's frame is the difference to the viewport).
            let script = "return [document.documentElement.scrollHeight, window.outerHeight - window.innerHeight];";
            let measured = self.run(script, json!([])).await;
            let (page, frame) = (measured[0].as_u64().unwrap_or(0) as u32, measured[1].as_u64().unwrap_or(0) as u32);
            self.resize((size.0, (page + frame).clamp(size.1, 4000))).await;
            let shot = self.call(reqwest::Method::GET, "/screenshot", None).await;
            let png = base64::engine::general_purpose::STANDARD.decode(shot.as_str().unwrap()).unwrap();
            let path = screenshot_dir().join(format!("{name}-{label}.png"));
            std::fs::write(&path, png).unwrap_or_else(|e| panic!("writing {}: {e}", path.display()));
        }
        self.resize(keep).await;
    }

    pub async fn close(self) {
        let _ = self.http.delete(&self.base).send().await;
    }
}

/// `target/screenshots` of the workspace.
pub fn screenshot_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}
