//! Real-browser harness: Debian's Chromium driven through chromedriver (WebDriver), against a
//! server started on 127.0.0.1 by the test. Screenshots go to `tests/artifacts/browser/<journey>/`;
//! a failed step also saves the page's HTML there.
//!
//! When no browser is installed the journeys are skipped, loudly (`.ci/run` installs Debian's
//! `chromium` and `chromium-driver` first, so CI runs them).
//!
//! [`Browser::assert_accessible`] runs axe-core (pinned in `tests/package.json`, installed with
//! `npm ci` on first use) on the current page and fails on any violation. WebDriver scripts run
//! even when the page's own JavaScript is off, so both kinds of journey are checked.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};

/// Viewport width the pages must work at (a small phone).
pub const PHONE_WIDTH: u32 = 375;

/// A running chromedriver and one browser window.
pub struct Browser {
    /// The WebDriver client.
    pub client: Client,
    driver: Child,
    artifacts: PathBuf,
    step: u32,
    javascript: bool,
    _profile: tempfile::TempDir,
}

/// Why the browser could not start.
pub fn browser_available() -> Result<(), String> {
    for binary in ["/usr/bin/chromium", "/usr/bin/chromedriver"] {
        if !std::path::Path::new(binary).exists() {
            return Err(format!("{binary} is missing (apt-get install chromium chromium-driver)"));
        }
    }
    Ok(())
}

impl Browser {
    /// Starts chromedriver and a headless Chromium with a phone-sized window, JavaScript on or off.
    pub async fn start(journey: &str, javascript: bool) -> Browser {
        let port = {
            let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("free port");
            listener.local_addr().expect("port").port()
        };
        let driver = Command::new("/usr/bin/chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver");
        let profile = tempfile::tempdir().expect("profile dir");
        let mut capabilities = serde_json::Map::new();
        let mut prefs = serde_json::json!({});
        if !javascript {
            prefs = serde_json::json!({ "profile.managed_default_content_settings.javascript": 2 });
        }
        let mut options = serde_json::json!({
                "binary": "/usr/bin/chromium",
                "args": [
                    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                    "--disable-background-networking", "--disable-component-update", "--disable-sync",
                    "--disable-dev-shm-usage", format!("--window-size={PHONE_WIDTH},900"),
                    format!("--user-data-dir={}", profile.path().display()),
                ],
                "prefs": prefs,
        });
        if javascript {
            // Headless windows have a minimum width above 375 px: emulate the phone instead. (Only
            // with JavaScript: chromedriver's typing hangs with emulation and JavaScript off.)
            options["mobileEmulation"] =
                serde_json::json!({ "deviceMetrics": { "width": PHONE_WIDTH, "height": 812, "pixelRatio": 2.0 } });
        }
        capabilities.insert("goog:chromeOptions".into(), options);
        let deadline = Instant::now() + Duration::from_secs(30);
        let client = loop {
            match ClientBuilder::native()
                .capabilities(capabilities.clone())
                .connect(&format!("http://127.0.0.1:{port}"))
                .await
            {
                Ok(client) => break client,
                Err(error) if Instant::now() < deadline => {
                    let _ = error;
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
                Err(error) => panic!("cannot start the browser: {error}"),
            }
        };
        let artifacts = crate::workspace_root()
            .join("tests/artifacts/browser")
            .join(format!("{journey}{}", if javascript { "" } else { "-nojs" }));
        let _ = std::fs::remove_dir_all(&artifacts);
        std::fs::create_dir_all(&artifacts).expect("artifacts dir");
        Browser { client, driver, artifacts, step: 0, javascript, _profile: profile }
    }

    /// Saves a screenshot of the current page as the next numbered step.
    pub async fn screenshot(&mut self, name: &str) {
        self.step += 1;
        if let Ok(png) = self.client.screenshot().await {
            let _ = std::fs::write(self.artifacts.join(format!("{:02}-{name}.png", self.step)), png);
        }
    }

    /// Saves the page's HTML (called when a step fails).
    pub async fn save_html(&self, name: &str) -> PathBuf {
        let path = self.artifacts.join(format!("failure-{name}.html"));
        if let Ok(source) = self.client.source().await {
            let _ = std::fs::write(&path, source);
        }
        path
    }

    /// Fails the test with the page saved, if `condition` is false.
    pub async fn check(&self, condition: bool, what: &str) {
        if !condition {
            let name: String = what.chars().map(|c| if c.is_alphanumeric() { c } else { '-' }).take(60).collect();
            let path = self.save_html(&name).await;
            panic!("{what} (page saved to {})", path.display());
        }
    }

    /// Waits (at most 10 s) until the page contains `text` — form submissions and navigations
    /// complete asynchronously from WebDriver's point of view. Returns the page.
    pub async fn wait_for_text(&self, text: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let html = self.html().await;
            if html.contains(text) {
                return html;
            }
            if Instant::now() > deadline {
                let path = self.save_html("missing-text").await;
                panic!("« {text} » never appeared (page saved to {})", path.display());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The current page's HTML.
    pub async fn html(&self) -> String {
        self.client.source().await.expect("page source")
    }

    /// Opens a URL.
    pub async fn open(&self, url: &str) {
        self.client.goto(url).await.expect("navigation");
    }

    /// Types into the field with this id (clearing it first).
    pub async fn fill(&self, id: &str, text: &str) {
        let field = self.client.find(Locator::Id(id)).await.unwrap_or_else(|e| panic!("field #{id}: {e}"));
        field.clear().await.expect("clear");
        field.send_keys(text).await.expect("typing");
    }

    /// Chooses an option of the select with this id by its value.
    pub async fn select(&self, id: &str, value: &str) {
        let select = self.client.find(Locator::Id(id)).await.unwrap_or_else(|e| panic!("select #{id}: {e}"));
        select.select_by_value(value).await.unwrap_or_else(|e| panic!("option {value}: {e}"));
    }

    /// Clicks the first element matching a CSS selector.
    pub async fn click(&self, css: &str) {
        let element = self.client.find(Locator::Css(css)).await.unwrap_or_else(|e| panic!("element {css}: {e}"));
        element.click().await.expect("click");
    }

    /// Clicks the link whose text is exactly `text`.
    pub async fn click_link(&self, text: &str) {
        let link = self.client.find(Locator::LinkText(text)).await.unwrap_or_else(|e| panic!("link « {text} »: {e}"));
        link.click().await.expect("click");
    }

    /// The visible text of the first element matching a CSS selector.
    pub async fn text(&self, css: &str) -> String {
        let element = self.client.find(Locator::Css(css)).await.unwrap_or_else(|e| panic!("element {css}: {e}"));
        element.text().await.expect("element text")
    }

    /// The current value of the form field with this id (what the browser would submit).
    pub async fn value(&self, id: &str) -> String {
        let field = self.client.find(Locator::Id(id)).await.unwrap_or_else(|e| panic!("field #{id}: {e}"));
        field.prop("value").await.expect("field value").unwrap_or_default()
    }

    /// The current URL.
    pub async fn url(&self) -> String {
        self.client.current_url().await.expect("url").to_string()
    }

    /// True when the page fits the phone width: no horizontal scrolling of the page, nor of a
    /// box inside it (a table scrolled sideways hides which row a field belongs to). Needs
    /// JavaScript.
    pub async fn fits_phone_width(&self) -> Result<(), String> {
        let report = self
            .client
            .execute(
                "const vw = document.documentElement.clientWidth; \
                 const wide = [...document.querySelectorAll('body *')] \
                   .filter(e => e.getBoundingClientRect().right > vw + 1) \
                   .slice(0, 5).map(e => e.tagName + '.' + e.className + ' ' + Math.round(e.getBoundingClientRect().right)); \
                 const scrolled = [...document.querySelectorAll('body *')] \
                   .filter(e => ['auto', 'scroll'].includes(getComputedStyle(e).overflowX) \
                     && e.scrollWidth > e.clientWidth + 1) \
                   .slice(0, 5).map(e => e.tagName + '.' + e.className + ' ' + e.scrollWidth + '>' + e.clientWidth); \
                 return { scroll: document.documentElement.scrollWidth, viewport: vw, wide: wide, scrolled: scrolled };",
                vec![],
            )
            .await
            .map_err(|e| e.to_string())?;
        let scroll = report["scroll"].as_u64().unwrap_or(u64::MAX);
        let viewport = report["viewport"].as_u64().unwrap_or(0);
        let scrolled = report["scrolled"].as_array().map_or(1, Vec::len);
        if scroll <= viewport && viewport <= u64::from(PHONE_WIDTH) && scrolled == 0 {
            Ok(())
        } else {
            Err(report.to_string())
        }
    }

    /// Runs axe-core on the current page and fails the test, with the page and the full report
    /// saved, when it finds any violation. Every page state a journey reaches is checked this way.
    pub async fn assert_accessible(&self, what: &str) {
        let Some(axe) = axe_source() else {
            return;
        };
        // With the page's JavaScript off, timers never fire but promises still settle: axe-core's
        // own `setTimeout` calls are run as microtasks (the page has no script of its own to upset).
        let timers = if self.javascript {
            ""
        } else {
            "window.setTimeout = (f, _ms, ...a) => { Promise.resolve().then(() => f(...a)); return 0; }; \
             window.clearTimeout = () => {};"
        };
        let loaded = self
            .client
            .execute(
                &format!("if (typeof window.axe === 'undefined') {{ {timers} {axe} }} return typeof window.axe;"),
                vec![],
            )
            .await
            .unwrap_or_else(|e| panic!("{what}: axe-core could not be loaded: {e}"));
        assert_eq!(loaded.as_str(), Some("object"), "{what}: axe-core did not load");
        let report = self
            .client
            .execute(
                "return window.axe.run(document, { resultTypes: ['violations'] }) \
                   .then(r => ({ violations: r.violations.map(v => ({ id: v.id, impact: v.impact, help: v.help, \
                       nodes: v.nodes.slice(0, 5).map(n => ({ target: n.target.join(' '), summary: n.failureSummary })) })) })) \
                   .catch(e => ({ error: String(e) }));",
                vec![],
            )
            .await
            .unwrap_or_else(|e| panic!("{what}: axe-core did not run: {e}"));
        if let Some(error) = report.get("error") {
            panic!("{what}: axe-core failed: {error}");
        }
        let violations = report["violations"].as_array().cloned().unwrap_or_default();
        if !violations.is_empty() {
            let name: String = what.chars().map(|c| if c.is_alphanumeric() { c } else { '-' }).take(60).collect();
            let report_path = self.artifacts.join(format!("axe-{name}.json"));
            let _ = std::fs::write(&report_path, serde_json::to_string_pretty(&report).unwrap_or_default());
            let summary: Vec<String> = violations
                .iter()
                .map(|v| format!("{} ({}): {} — {}", v["id"], v["impact"], v["help"], v["nodes"]))
                .collect();
            self.check(
                false,
                &format!(
                    "{what}: {} axe-core violation(s) (report {}): {}",
                    violations.len(),
                    report_path.display(),
                    summary.join(" | ")
                ),
            )
            .await;
        }
    }

    /// What every page state of a journey is held to: each visible field labelled, no sideways
    /// scrolling at 375 px (measured where JavaScript runs: the phone is emulated only then), and
    /// axe-core clean.
    pub async fn assert_page_quality(&self, what: &str) {
        let html = self.html().await;
        let missing = unlabelled_fields(&html);
        self.check(missing.is_empty(), &format!("{what}: fields without a label: {missing:?}")).await;
        if self.javascript
            && let Err(report) = self.fits_phone_width().await
        {
            self.check(false, &format!("{what}: wider than 375 px: {report}")).await;
        }
        self.assert_accessible(what).await;
    }

    /// Closes the browser and its driver.
    pub async fn close(self) {
        let _ = self.client.clone().close().await;
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        // Also on a failed step: no chromedriver outlives its test.
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

/// axe-core's script, installed into `tests/node_modules` by `npm ci` on first use. `None` (the
/// check skipped, loudly) only outside CI when npm cannot install it; under CI a missing axe fails.
fn axe_source() -> Option<&'static str> {
    static SOURCE: OnceLock<Option<String>> = OnceLock::new();
    SOURCE
        .get_or_init(|| {
            let tests = crate::workspace_root().join("tests");
            let script = tests.join("node_modules/axe-core/axe.min.js");
            if !script.exists() {
                let installed = Command::new("npm")
                    .args(["ci", "--no-audit", "--no-fund", "--loglevel=error"])
                    .current_dir(&tests)
                    .status()
                    .map(|status| status.success())
                    .unwrap_or(false);
                if !installed {
                    let required = crate::under_ci();
                    crate::skip_for_want_of("axe-core accessibility checks", "npm ci in tests/ failed", required);
                    return None;
                }
            }
            match std::fs::read_to_string(&script) {
                Ok(source) => Some(source),
                Err(error) => panic!("axe-core at {} unreadable: {error}", script.display()),
            }
        })
        .as_deref()
}

/// True (the journey then returns) when no browser is installed: said loudly, and a failure
/// under CI unless its browser install failed and said so (`LMS_BROWSER_UNAVAILABLE`).
pub fn skip_without_browser() -> bool {
    match browser_available() {
        Ok(()) => false,
        Err(reason) => crate::skip_for_want_of(
            "browser journey",
            &reason,
            crate::under_ci() && std::env::var("LMS_BROWSER_UNAVAILABLE").is_err(),
        ),
    }
}

/// Runs a journey with an upper bound, so a hung browser fails the test instead of blocking CI.
pub async fn bounded<F: std::future::Future<Output = ()>>(journey: F) {
    if tokio::time::timeout(Duration::from_secs(180), journey).await.is_err() {
        panic!("journey did not finish within 180 s");
    }
}

/// Every visible form field of `html` has a `<label for=…>` (checked on the served markup).
pub fn unlabelled_fields(html: &str) -> Vec<String> {
    let mut missing = Vec::new();
    for tag in ["<input", "<select", "<textarea"] {
        for (start, _) in html.match_indices(tag) {
            let end = html[start..].find('>').map(|e| start + e).unwrap_or(html.len());
            let element = &html[start..end];
            if element.contains("type=\"hidden\"") || element.contains("type=\"submit\"") {
                continue;
            }
            let id = element.split("id=\"").nth(1).and_then(|rest| rest.split('"').next());
            match id {
                Some(id) if html.contains(&format!("for=\"{id}\"")) => {}
                _ => missing.push(element.to_owned()),
            }
        }
    }
    missing
}
