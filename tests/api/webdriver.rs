//! A small W3C WebDriver client for the browser tests: one chromedriver per test binary,
//! one headless Chromium session (with a profile of its own) per [`Browser`].
//!
//! The driver is found at `PV_CHROMEDRIVER` (default `/usr/bin/chromedriver`) and drives
//! `PV_CHROMIUM` (default `/usr/bin/chromium`); `scripts/test.sh` installs both.
//!
//! Clean-up. The driver lives in a static, which is never dropped, and the test binary may
//! die by a signal, so nothing in this process can be relied on to stop it. Instead the
//! driver runs under a tiny `sh` watchdog in a process group of its own, with its stdin a
//! pipe from this process: when this process ends, however it ends, the kernel closes the
//! pipe, `read` sees end-of-file and the watchdog signals the whole group — chromedriver and
//! every Chromium it started (TERM, then KILL a second later) — and deletes the profiles
//! directory of this process (`pv-chromium-{pid}` in the temp dir). Within a run,
//! [`Browser::close`] ends the session; a `Browser` dropped without it (a failed test) ends
//! its session with a blocking request from `Drop`, so Chromium processes do not pile up.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine;
use reqwest::Method;
use serde_json::{Value, json};
use tokio::sync::OnceCell;
use uuid::Uuid;

/// The W3C key under which an element reference travels.
const ELEMENT_KEY: &str = "element-6066-11e4-a52e-4f735466cecf";
const POLL: Duration = Duration::from_millis(100);

/// `$1` is the profiles directory, `$0 "$@"` after `shift` the driver's command line. TERM
/// is ignored only once the driver has forked, so that the watchdog outlives its own
/// `kill -TERM 0`, then deletes the profiles and follows up with KILL. Its `sleep 1` is a
/// grace period, not synchronisation: it runs as the test binary exits, no test waits on
/// it, and `wait` would reach only the driver, not the Chromium processes it started.
const WATCHDOG: &str = r#"dir=$1; shift; "$0" "$@" & trap '' TERM; read _; kill -TERM 0; sleep 1;
rm -rf "$dir"; kill -KILL 0"#;

/// Headless, no sandbox (containers and root lack user namespaces), no GPU, nothing that
/// phones home or waits for a first-run dialog; /dev/shm in containers is often tiny.
const CHROMIUM_ARGS: &[&str] = &[
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--window-size=1280,900",
];

#[derive(Debug, thiserror::Error)]
pub enum WebDriverError {
    #[error("request to chromedriver failed: {0}")]
    Http(#[from] reqwest::Error),
    /// A W3C error answer (`no such element`, `stale element reference`…).
    #[error("chromedriver: {error}: {message}")]
    Driver { error: String, message: String },
    #[error("unexpected chromedriver answer: {0}")]
    Protocol(String),
    #[error("timed out: {0}")]
    Timeout(String),
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

pub type Result<T> = std::result::Result<T, WebDriverError>;

/// The shared chromedriver: its address, where profiles go, and its watchdog, whose stdin
/// must stay open.
struct Driver {
    addr: SocketAddr,
    profiles: PathBuf,
    _watchdog: Child,
}

static DRIVER: OnceCell<Driver> = OnceCell::const_new();

fn env_path(var: &str, default: &str) -> PathBuf {
    std::env::var_os(var).map_or_else(|| PathBuf::from(default), PathBuf::from)
}

/// A client per browser: a pooled connection must not outlive the test runtime it was
/// opened in, and every `#[tokio::test]` has a runtime of its own.
fn client() -> reqwest::Client {
    policyvault::http::client(Duration::from_secs(60)).expect("HTTP client")
}

async fn driver() -> &'static Driver {
    let started = DRIVER.get_or_try_init(start_driver).await;
    started.unwrap_or_else(|e| panic!("cannot start chromedriver: {e}"))
}

async fn start_driver() -> Result<Driver> {
    let binary = env_path("PV_CHROMEDRIVER", "/usr/bin/chromedriver");
    assert!(
        binary.exists(),
        "{} not found: install the Debian packages chromium and chromium-driver \
         (scripts/test.sh does) or set PV_CHROMEDRIVER",
        binary.display()
    );
    let port = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
    let profiles = std::env::temp_dir().join(format!("pv-chromium-{}", std::process::id()));
    let watchdog = Command::new("sh")
        .args(["-c", WATCHDOG])
        .arg(&binary)
        .arg(&profiles)
        .arg(format!("--port={port}"))
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0)
        .spawn()?;
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let driver = Driver {
        addr,
        profiles,
        _watchdog: watchdog,
    };
    let http = client();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Ok(response) = http.get(format!("http://{addr}/status")).send().await
            && let Ok(status) = response.json::<Value>().await
            && status["value"]["ready"] == true
        {
            return Ok(driver);
        }
        if Instant::now() > deadline {
            let message = format!("chromedriver on port {port} not ready within 20 s");
            return Err(WebDriverError::Timeout(message));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A WebDriver session (or the driver's root) and the client to reach it.
#[derive(Clone)]
struct Session {
    http: reqwest::Client,
    url: String,
}

impl Session {
    async fn call(&self, method: Method, path: &str, body: Option<Value>) -> Result<Value> {
        let mut request = self.http.request(method, format!("{}{path}", self.url));
        if let Some(body) = body {
            request = request.json(&body);
        }
        let mut answer: Value = request.send().await?.json().await?;
        let value = answer["value"].take();
        match value["error"].as_str() {
            Some(error) => Err(WebDriverError::Driver {
                error: error.to_owned(),
                message: value["message"].as_str().unwrap_or_default().to_owned(),
            }),
            None => Ok(value),
        }
    }

    async fn get(&self, path: &str) -> Result<Value> {
        self.call(Method::GET, path, None).await
    }

    async fn get_string(&self, path: &str) -> Result<String> {
        match self.get(path).await? {
            Value::String(s) => Ok(s),
            other => Err(WebDriverError::Protocol(format!("{path}: {other}"))),
        }
    }

    async fn post(&self, path: &str, body: Value) -> Result<Value> {
        self.call(Method::POST, path, Some(body)).await
    }

    async fn delete(&self, path: &str) -> Result<()> {
        self.call(Method::DELETE, path, None).await.map(drop)
    }

    /// A command whose answer carries nothing.
    async fn command(&self, path: &str, body: Value) -> Result<()> {
        self.post(path, body).await.map(drop)
    }

    /// The element a `find` answer refers to.
    fn element(&self, value: &Value) -> Result<Element> {
        let id = value[ELEMENT_KEY].as_str();
        let id = id.ok_or_else(|| WebDriverError::Protocol(value.to_string()))?;
        Ok(Element {
            session: self.clone(),
            id: id.to_owned(),
        })
    }
}

fn css(selector: &str) -> Value {
    json!({ "using": "css selector", "value": selector })
}

/// A headless Chromium session. End it with [`Browser::close`].
pub struct Browser {
    session: Session,
    driver: SocketAddr,
    id: String,
    profile: PathBuf,
    closed: bool,
}

impl Browser {
    /// A fresh browser with an empty profile; `name` (the test's) names the profile directory.
    pub async fn start(name: &str) -> Result<Browser> {
        let driver = driver().await;
        let chromium = env_path("PV_CHROMIUM", "/usr/bin/chromium");
        assert!(
            chromium.exists(),
            "{} not found: install the Debian package chromium (scripts/test.sh does) or set \
             PV_CHROMIUM",
            chromium.display()
        );
        let profile = format!("{name}-{}", Uuid::new_v4().simple());
        let profile = driver.profiles.join(profile);
        let mut args: Vec<String> = CHROMIUM_ARGS.iter().map(|a| a.to_string()).collect();
        args.push(format!("--user-data-dir={}", profile.display()));
        let capabilities = json!({ "capabilities": { "alwaysMatch": {
            "browserName": "chrome",
            "timeouts": { "pageLoad": 30_000, "script": 30_000 },
            "goog:chromeOptions": { "binary": chromium, "args": args },
        }}});
        let root = Session {
            http: client(),
            url: format!("http://{}", driver.addr),
        };
        let created = match root.post("/session", capabilities).await {
            Ok(created) => created,
            Err(e) => {
                let _ = std::fs::remove_dir_all(&profile);
                return Err(e);
            }
        };
        let id = created["sessionId"].as_str();
        let id = id.ok_or_else(|| WebDriverError::Protocol(created.to_string()))?;
        let url = format!("{}/session/{id}", root.url);
        let session = Session {
            http: root.http,
            url,
        };
        let (driver, id) = (driver.addr, id.to_owned());
        Ok(Browser {
            session,
            driver,
            id,
            profile,
            closed: false,
        })
    }

    pub async fn goto(&self, url: &str) -> Result<()> {
        self.session.command("/url", json!({ "url": url })).await
    }

    pub async fn current_url(&self) -> Result<String> {
        self.session.get_string("/url").await
    }

    pub async fn back(&self) -> Result<()> {
        self.session.command("/back", json!({})).await
    }

    pub async fn refresh(&self) -> Result<()> {
        self.session.command("/refresh", json!({})).await
    }

    /// Resizes the window (the viewport is a little smaller), e.g. to a tablet's width.
    pub async fn set_window_size(&self, width: u32, height: u32) -> Result<()> {
        self.session
            .command("/window/rect", json!({ "width": width, "height": height }))
            .await
    }

    pub async fn title(&self) -> Result<String> {
        self.session.get_string("/title").await
    }

    /// The first element matching `selector`; a `no such element` error when there is none.
    pub async fn find(&self, selector: &str) -> Result<Element> {
        let found = self.session.post("/element", css(selector)).await?;
        self.session.element(&found)
    }

    pub async fn find_all(&self, selector: &str) -> Result<Vec<Element>> {
        let found = self.session.post("/elements", css(selector)).await?;
        let found = found.as_array().map_or(&[][..], Vec::as_slice);
        found.iter().map(|v| self.session.element(v)).collect()
    }

    /// Polls until an element matches `selector`.
    pub async fn wait_for(&self, selector: &str, timeout: Duration) -> Result<Element> {
        let deadline = Instant::now() + timeout;
        loop {
            match self.find(selector).await {
                Ok(element) => return Ok(element),
                Err(e) if Instant::now() > deadline => {
                    let url = self.current_url().await.unwrap_or_default();
                    let message = format!("no `{selector}` on {url} after {timeout:?}: {e}");
                    return Err(WebDriverError::Timeout(message));
                }
                Err(_) => tokio::time::sleep(POLL).await,
            }
        }
    }

    /// Polls until an element matching `selector` has `needle` in its text (elements may be
    /// replaced while it polls, as by an htmx swap).
    pub async fn wait_for_text(
        &self,
        selector: &str,
        needle: &str,
        timeout: Duration,
    ) -> Result<Element> {
        let deadline = Instant::now() + timeout;
        let mut last = String::from("no element matched");
        loop {
            for element in self.find_all(selector).await.unwrap_or_default() {
                match element.text().await {
                    Ok(text) if text.contains(needle) => return Ok(element),
                    Ok(text) => last = format!("{text:?}"),
                    Err(e) => last = e.to_string(),
                }
            }
            if Instant::now() > deadline {
                let url = self.current_url().await.unwrap_or_default();
                return Err(WebDriverError::Timeout(format!(
                    "`{selector}` on {url} had no {needle:?} after {timeout:?}; last text: {last}"
                )));
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// Runs `script` (a function body: `return …`, arguments in `arguments`) in the page.
    pub async fn execute(&self, script: &str, args: Vec<Value>) -> Result<Value> {
        let body = json!({ "script": script, "args": args });
        self.session.post("/execute/sync", body).await
    }

    /// Saves a PNG of the viewport at `path`, creating its directory.
    pub async fn screenshot(&self, path: impl AsRef<Path>) -> Result<()> {
        let encoded = self.session.get_string("/screenshot").await?;
        let png = base64::engine::general_purpose::STANDARD.decode(encoded);
        let png = png.map_err(|e| WebDriverError::Protocol(format!("screenshot: {e}")))?;
        if let Some(dir) = path.as_ref().parent() {
            tokio::fs::create_dir_all(dir).await?;
        }
        Ok(tokio::fs::write(path, png).await?)
    }

    /// Ends the session (Chromium quits) and deletes the profile.
    pub async fn close(mut self) -> Result<()> {
        self.closed = true;
        let ended = self.session.delete("").await;
        let _ = tokio::fs::remove_dir_all(&self.profile).await;
        ended
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        // Blocking and best-effort: a failed test must not leave its Chromium running.
        if !self.closed
            && let Ok(mut stream) = TcpStream::connect_timeout(&self.driver, Duration::from_secs(2))
        {
            let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
            let request = format!(
                "DELETE /session/{} HTTP/1.1\r\nHost: {}\r\nContent-Length: 0\r\n\
                 Connection: close\r\n\r\n",
                self.id, self.driver
            );
            // The answer comes once Chromium has quit.
            let sent = stream.write_all(request.as_bytes());
            let _ = sent.map(|()| stream.read(&mut [0; 256]));
        }
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}

/// An element of the page, valid until the page replaces it.
pub struct Element {
    session: Session,
    id: String,
}

impl Element {
    fn path(&self, tail: &str) -> String {
        format!("/element/{}{tail}", self.id)
    }

    pub async fn click(&self) -> Result<()> {
        self.session.command(&self.path("/click"), json!({})).await
    }

    /// Two real clicks a few milliseconds apart (W3C actions), as a double-clicking user.
    pub async fn double_click(&self) -> Result<()> {
        let (down, up) = (
            json!({ "type": "pointerDown", "button": 0 }),
            json!({ "type": "pointerUp", "button": 0 }),
        );
        let origin = json!({ ELEMENT_KEY: self.id });
        let actions = json!({ "actions": [{
            "type": "pointer",
            "id": "mouse",
            "parameters": { "pointerType": "mouse" },
            "actions": [
                { "type": "pointerMove", "duration": 0, "origin": origin, "x": 0, "y": 0 },
                down, up, down, up,
            ],
        }]});
        self.session.command("/actions", actions).await?;
        self.session.delete("/actions").await
    }

    pub async fn send_keys(&self, text: &str) -> Result<()> {
        self.session
            .command(&self.path("/value"), json!({ "text": text }))
            .await
    }

    pub async fn clear(&self) -> Result<()> {
        self.session.command(&self.path("/clear"), json!({})).await
    }

    /// The rendered text, as a user sees it.
    pub async fn text(&self) -> Result<String> {
        self.session.get_string(&self.path("/text")).await
    }

    /// An HTML attribute, `None` when absent.
    pub async fn attr(&self, name: &str) -> Result<Option<String>> {
        let value = self
            .session
            .get(&self.path(&format!("/attribute/{name}")))
            .await?;
        Ok(value.as_str().map(str::to_owned))
    }

    /// A DOM property (`value`, `checked`…), as JSON.
    pub async fn property(&self, name: &str) -> Result<Value> {
        self.session
            .get(&self.path(&format!("/property/{name}")))
            .await
    }

    pub async fn is_enabled(&self) -> Result<bool> {
        Ok(self.session.get(&self.path("/enabled")).await? == true)
    }

    pub async fn is_displayed(&self) -> Result<bool> {
        Ok(self.session.get(&self.path("/displayed")).await? == true)
    }

    /// The first descendant matching `selector`.
    pub async fn find(&self, selector: &str) -> Result<Element> {
        let found = self
            .session
            .post(&self.path("/element"), css(selector))
            .await?;
        self.session.element(&found)
    }
}
