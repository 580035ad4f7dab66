//! End-to-end tests of kassa's web pages in a real browser: Debian's Chromium, headless, driven
//! over WebDriver (chromedriver). `scripts/test` installs both when they are missing.
//!
//! Every page visited is also photographed at phone and desktop width into `target/screenshots`.

mod hpp;
mod instore;
mod merchant_site;
mod webdriver;
