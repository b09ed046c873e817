//! `strata du --format html` opened in a real headless Chromium (Debian's `chromium`) from
//! `file://`: the treemap has a rectangle for each of the largest owners, with areas, as
//! rendered, proportional to their bytes within 1%; the owners' table lists every owner; the
//! advise commands are there as text; the page requests nothing but itself (Chromium's net
//! log) and carries its Content-Security-Policy; a store name made of markup stays text; and
//! a screenshot is kept in `target/test-artifacts/du-html.png`. `--format html` is refused for
//! every other verb.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use serde_json::Value;

use crate::devtools::Devtools;
use crate::fixture;
use crate::harness::{
    chromium_usable, run_with_timeout, strata, strata_on, Driver, Run, CHROMIUM, CHROMIUM_HEADLESS,
};
use crate::synth::SynthStore;

/// How long one Chromium run may take (a loaded 2-core machine starts it slowly).
const CHROMIUM_TIMEOUT: Duration = Duration::from_secs(120);
/// The largest owners whose rectangles are checked.
const TOP_OWNERS: usize = 6;
/// The CSP the page must carry: nothing may be fetched, only its inline script and style run.
const CSP: &str = "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; \
                   img-src data:";

/// A headless Chromium, each run with a new profile in a temporary directory.
struct Chromium {
    dir: tempfile::TempDir,
    runs: std::cell::Cell<usize>,
}

impl Chromium {
    fn new() -> Chromium {
        Chromium {
            dir: tempfile::Builder::new()
                .prefix("strata-it-chromium-")
                .tempdir()
                .expect("a temporary directory for chromium"),
            runs: std::cell::Cell::new(0),
        }
    }

    /// Runs Chromium on `page` with `extra` arguments, its network activity logged; returns
    /// the run and the URLs the net log shows requested.
    fn run(&self, page: &Path, extra: &[String]) -> (Run, Vec<String>) {
        let name = self.runs.get();
        self.runs.set(name + 1);
        let profile = self.dir.path().join(format!("profile-{name}"));
        let net_log = self.dir.path().join(format!("net-{name}.json"));
        let mut cmd = Command::new(CHROMIUM);
        cmd.args(CHROMIUM_HEADLESS)
            .args(["--window-size=1400,900", "--virtual-time-budget=5000"])
            .arg(format!("--user-data-dir={}", profile.display()))
            .arg(format!("--log-net-log={}", net_log.display()))
            .args(extra)
            .arg(file_url(page));
        let run = run_with_timeout(cmd, CHROMIUM_TIMEOUT);
        assert!(run.success(), "chromium failed:\n{run}");
        let log = fs::read_to_string(&net_log)
            .unwrap_or_else(|e| panic!("{}: no net log: {e}", net_log.display()));
        (run, urls_in_net_log(&log))
    }

    /// The DOM after the page's script ran, and the URLs requested meanwhile.
    fn dump_dom(&self, page: &Path) -> (String, Vec<String>) {
        let (run, urls) = self.run(page, &["--dump-dom".to_owned()]);
        (run.stdout, urls)
    }
}

/// `file://` and the absolute path.
fn file_url(page: &Path) -> String {
    format!("file://{}", page.display())
}

/// The URLs requested on a page's behalf, as Chromium's net log shows them: each request
/// job started with a document's origin as its initiator (`null` for a `file://` page; the
/// browser's own requests, its component updater and sign-in checks, have none: `not an
/// origin`). A `file://` load is not a network request and is not logged.
fn urls_in_net_log(log: &str) -> Vec<String> {
    // Chromium ends the file on exit; a run killed early leaves the events array open.
    let value: Value = serde_json::from_str(log)
        .or_else(|_| serde_json::from_str(&format!("{}]}}", log.trim_end().trim_end_matches(','))))
        .unwrap_or_else(|e| panic!("the net log is not JSON ({e})"));
    let start_job = value["constants"]["logEventTypes"]["URL_REQUEST_START_JOB"].clone();
    assert!(start_job.is_u64(), "the net log names its event types");
    let mut urls: Vec<String> = value["events"]
        .as_array()
        .expect("net log events")
        .iter()
        .filter(|e| e["type"] == start_job && e["params"]["initiator"] != "not an origin")
        .filter_map(|e| e["params"]["url"].as_str().map(str::to_owned))
        .collect();
    urls.sort();
    urls.dedup();
    urls
}

/// Writes `strata --root <root> du --format html` to `dir/report.html`.
fn write_report(root: &Path, dir: &Path) -> PathBuf {
    let run = strata_on(root, &["--format", "html", "du"]);
    assert!(
        run.code == Some(0) || run.code == Some(1),
        "du --format html failed:\n{run}"
    );
    let page = dir.join("report.html");
    fs::write(&page, &run.stdout_bytes).expect("writing the report");
    page
}

/// The start tags in `dom` that carry attribute `attr`, each as its attributes.
fn elements_with(dom: &str, attr: &str) -> Vec<BTreeMap<String, String>> {
    let needle = format!(" {attr}=\"");
    let mut found = Vec::new();
    let mut rest = dom;
    while let Some(at) = rest.find(&needle) {
        let start = rest[..at].rfind('<').expect("a start tag");
        let end = at + rest[at..].find('>').expect("the end of a start tag");
        found.push(attributes(&rest[start..end]));
        rest = &rest[end..];
    }
    found
}

/// The attributes of one serialized start tag (`<div a="1" b="2"`), unescaped.
fn attributes(tag: &str) -> BTreeMap<String, String> {
    let mut attrs = BTreeMap::new();
    let mut rest = tag;
    while let Some(eq) = rest.find("=\"") {
        let name = rest[..eq].rsplit(' ').next().unwrap_or_default().to_owned();
        let value_start = eq + 2;
        let len = rest[value_start..].find('"').expect("a closing quote");
        let value = unescape(&rest[value_start..value_start + len]);
        attrs.insert(name, value);
        rest = &rest[value_start + len + 1..];
    }
    attrs
}

/// Undoes the HTML serializer's escapes.
fn unescape(text: &str) -> String {
    text.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&nbsp;", "\u{a0}")
        .replace("&amp;", "&")
}

fn number(attrs: &BTreeMap<String, String>, name: &str) -> f64 {
    attrs
        .get(name)
        .unwrap_or_else(|| panic!("no {name} in {attrs:?}"))
        .parse()
        .unwrap_or_else(|e| panic!("{name} in {attrs:?}: {e}"))
}

fn u(v: &Value) -> u64 {
    v.as_u64()
        .unwrap_or_else(|| panic!("not a byte count: {v}"))
}

/// Where the screenshot is kept: `test-artifacts/` of the build's target directory.
fn artifact_dir() -> PathBuf {
    let target = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .expect("the target directory");
    let dir = target.join("test-artifacts");
    fs::create_dir_all(&dir).expect("creating target/test-artifacts");
    dir
}

/// The overlay2 fixture's report: `du --format json`, and the page in a temporary directory
/// (kept while the directory lives). `None` when these tests are skipped here.
fn fixture_page() -> Option<(&'static Path, Value, tempfile::TempDir, PathBuf)> {
    let store = fixture::stopped(Driver::Overlay2)?;
    if !chromium_usable() {
        return None;
    }
    let root = store.data_root.as_path();
    let du = strata_on(root, &["--format", "json", "du"]).json();
    let work = tempfile::tempdir().expect("a temporary directory");
    let page = write_report(root, work.path());
    Some((root, du, work, page))
}

#[test]
fn treemap_areas_table_and_advice_in_chromium() {
    let Some((root, du, _work, page)) = fixture_page() else {
        return;
    };
    let advice = strata_on(root, &["--format", "json", "advise"]).json();
    let html = fs::read_to_string(&page).expect("the report");
    assert!(
        html.contains(&format!(
            "<meta http-equiv=\"Content-Security-Policy\" content=\"{CSP}\">"
        )),
        "the page carries its CSP"
    );

    let chromium = Chromium::new();
    let (dom, urls) = chromium.dump_dom(&page);
    assert_eq!(urls, Vec::<String>::new(), "the page requested nothing");

    // The treemap: a rectangle for each of the largest owners, areas proportional to bytes.
    let owners: Vec<&Value> = du["Owners"].as_array().expect("Owners").iter().collect();
    check_areas(&Treemap::in_dom(&dom), &owners, "", "Allocated");

    // Zoomed into the image layers (the URL's fragment names the kind): theirs alone.
    let mut zoomed = page.clone().into_os_string();
    zoomed.push("#image-layer");
    let (zoomed_dom, urls) = chromium.dump_dom(Path::new(&zoomed));
    assert_eq!(
        urls,
        Vec::<String>::new(),
        "the zoomed page requested nothing"
    );
    let layers: Vec<&Value> = owners
        .iter()
        .copied()
        .filter(|o| o["Kind"] == "image-layer")
        .collect();
    check_areas(
        &Treemap::in_dom(&zoomed_dom),
        &layers,
        "image-layer",
        "Allocated",
    );

    // The table lists every owner.
    let rows: Vec<String> = elements_with(&dom, "data-owner")
        .into_iter()
        .filter(|a| a.get("class").is_some_and(|c| c.starts_with("owner")))
        .map(|a| a["data-owner"].clone())
        .collect();
    let mut listed = rows.clone();
    listed.sort();
    let mut expected: Vec<String> = owners.iter().map(|o| owner_key(o)).collect();
    expected.sort();
    assert_eq!(listed, expected, "the owners' table lists every owner once");

    // The advise list, each command as text.
    let recommendations = advice["Recommendations"].as_array().expect("advice");
    assert!(
        !recommendations.is_empty(),
        "the fixture has something to reclaim"
    );
    for rec in recommendations {
        let command = rec["Command"].as_str().expect("a command");
        let shown = format!("<pre class=\"command\">{}</pre>", html_text(command));
        assert!(dom.contains(&shown), "the page shows `{command}`");
    }
    // And the df summary's rows.
    for kind in ["Images", "Containers", "Local Volumes", "Build Cache"] {
        assert!(dom.contains(&format!("<td>{kind}</td>")), "df row {kind}");
    }

    let artifacts = artifact_dir();
    fs::copy(&page, artifacts.join("du-html.html")).expect("keeping the page");
    let shot = artifacts.join("du-html.png");
    let _ = fs::remove_file(&shot);
    let (_, urls) = chromium.run(&page, &[format!("--screenshot={}", shot.display())]);
    assert_eq!(
        urls,
        Vec::<String>::new(),
        "the screenshot's run requested nothing"
    );
    let png = fs::read(&shot).unwrap_or_else(|e| panic!("{}: {e}", shot.display()));
    assert!(png.starts_with(b"\x89PNG"), "{} is a PNG", shot.display());
}

/// `KIND/ID`, as the page names an owner.
fn owner_key(o: &Value) -> String {
    format!(
        "{}/{}",
        o["Kind"].as_str().expect("Kind"),
        o["Id"].as_str().expect("Id")
    )
}

/// One rectangle of the treemap as rendered.
struct Rect {
    /// `KIND/ID`.
    owner: String,
    /// The bytes it stands for, as the page says.
    bytes: u64,
    /// Its rendered size, px.
    width: f64,
    height: f64,
}

/// The treemap as rendered.
struct Treemap {
    /// The kind zoomed into, `""` for all.
    zoom: String,
    /// `allocated` or `apparent`.
    measure: String,
    /// The bytes it shows in all.
    bytes: u64,
    /// Its rendered size, px.
    width: f64,
    height: f64,
    rects: Vec<Rect>,
}

impl Treemap {
    /// The treemap of a dumped DOM, from the geometry the page's script read back after its
    /// layout (`getBoundingClientRect`, in `data-width` and `data-height`).
    fn in_dom(dom: &str) -> Treemap {
        let map = elements_with(dom, "data-measure")
            .into_iter()
            .next()
            .expect("the treemap element");
        let rects = elements_with(dom, "data-owner")
            .into_iter()
            .filter(|a| {
                a.get("class")
                    .is_some_and(|c| c.split(' ').any(|c| c == "cell"))
            })
            .map(|a| Rect {
                owner: a["data-owner"].clone(),
                bytes: number(&a, "data-bytes") as u64,
                width: number(&a, "data-width"),
                height: number(&a, "data-height"),
            })
            .collect();
        Treemap {
            zoom: map["data-zoom"].clone(),
            measure: map["data-measure"].clone(),
            bytes: number(&map, "data-bytes") as u64,
            width: number(&map, "data-width"),
            height: number(&map, "data-height"),
            rects,
        }
    }

    /// The treemap of the page open in `tools`, measured now by the browser.
    fn on_page(tools: &mut Devtools) -> Treemap {
        let v = tools.eval(
            "(() => { const m = document.getElementById('map'); const r = m.getBoundingClientRect(); \
             return { zoom: m.dataset.zoom, measure: m.dataset.measure, bytes: Number(m.dataset.bytes), \
             width: r.width, height: r.height, rects: [...m.querySelectorAll('.cell')].map((c) => { \
             const b = c.getBoundingClientRect(); return { owner: c.dataset.owner, \
             bytes: Number(c.dataset.bytes), width: b.width, height: b.height }; }) }; })()",
        );
        let f = |v: &Value| v.as_f64().unwrap_or_else(|| panic!("not a number: {v}"));
        Treemap {
            zoom: v["zoom"].as_str().expect("zoom").to_owned(),
            measure: v["measure"].as_str().expect("measure").to_owned(),
            bytes: u(&v["bytes"]),
            width: f(&v["width"]),
            height: f(&v["height"]),
            rects: v["rects"]
                .as_array()
                .expect("rects")
                .iter()
                .map(|r| Rect {
                    owner: r["owner"].as_str().expect("owner").to_owned(),
                    bytes: u(&r["bytes"]),
                    width: f(&r["width"]),
                    height: f(&r["height"]),
                })
                .collect(),
        }
    }
}

/// Checks `map`, zoomed into `zoom` (a kind, or `""` for all) and sized by `measure`
/// (`Allocated`, `Apparent`): it shows `owners` and nothing else, one rectangle for each that
/// has bytes, and the largest have areas that are their share of the map's within 1%.
fn check_areas(map: &Treemap, owners: &[&Value], zoom: &str, measure: &str) {
    let bytes_of = |o: &Value| u(&o["Sizes"][measure]);
    let mut owners: Vec<&Value> = owners.to_vec();
    owners.sort_by_key(|o| std::cmp::Reverse(bytes_of(o)));
    assert_eq!(map.zoom, zoom);
    assert_eq!(map.measure, measure.to_lowercase());
    let total: u64 = owners.iter().map(|o| bytes_of(o)).sum();
    assert_eq!(map.bytes, total, "{zoom}");
    let map_area = map.width * map.height;
    assert!(map_area > 100_000.0, "the treemap is drawn: {map_area} px²");
    let cells: BTreeMap<&str, &Rect> = map.rects.iter().map(|r| (r.owner.as_str(), r)).collect();
    let mut drawn: Vec<&str> = cells.keys().copied().collect();
    drawn.sort_unstable();
    let mut shown: Vec<String> = owners
        .iter()
        .filter(|o| bytes_of(o) > 0)
        .map(|o| owner_key(o))
        .collect();
    shown.sort();
    assert_eq!(drawn, shown, "{zoom}: a rectangle per owner with bytes");
    for o in owners.iter().take(TOP_OWNERS) {
        let key = owner_key(o);
        let bytes = bytes_of(o);
        let cell = cells[key.as_str()];
        assert_eq!(cell.bytes, bytes, "{key}");
        let area = cell.width * cell.height;
        let expected = map_area * bytes as f64 / total as f64;
        assert!(
            (area - expected).abs() <= expected * 0.01,
            "{zoom}: {key}: area {area:.1} px² for {bytes} of {total} bytes, expected \
             {expected:.1}"
        );
    }
    let covered: f64 = map.rects.iter().map(|r| r.width * r.height).sum();
    assert!(
        (covered - map_area).abs() <= map_area * 0.01,
        "{zoom}: the rectangles cover the treemap: {covered:.0} of {map_area:.0} px²"
    );
}

/// `text` as the HTML serializer writes a text node.
fn html_text(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('\u{a0}', "&nbsp;")
}

#[test]
fn a_name_made_of_markup_stays_text() {
    if !chromium_usable() {
        return;
    }
    let store = SynthStore::plant();
    let hostile = "</script><img src=x onerror=document.title='pwned'><b>bold</b>";
    let config = store.path(&store.container_file("config.v2.json"));
    let text = fs::read_to_string(&config).expect("the container's config");
    let planted = text.replace(
        "\"/synth-ctr\"",
        &serde_json::to_string(&format!("/{hostile}")).unwrap(),
    );
    assert_ne!(planted, text, "the container's name was replaced");
    fs::write(&config, planted).expect("writing the container's config");

    let name = strata_on(&store.root, &["--format", "json", "du"]).json();
    assert!(
        name.to_string().contains("onerror=document.title"),
        "strata reports the name"
    );
    let work = tempfile::tempdir().expect("a temporary directory");
    let page = write_report(&store.root, work.path());
    let html = fs::read_to_string(&page).expect("the report");
    assert_eq!(
        html.matches("</script>").count(),
        2,
        "only the page's own two scripts close"
    );
    let (dom, urls) = Chromium::new().dump_dom(&page);
    assert_eq!(urls, Vec::<String>::new(), "nothing was fetched");
    assert!(!dom.contains("<img"), "no element was injected");
    assert!(!dom.contains("<b>bold"), "no element was injected");
    assert!(
        !dom.contains("<title>pwned</title>"),
        "no injected script ran"
    );
    assert!(
        dom.contains("<title>strata du: "),
        "the page's own script ran"
    );
    assert!(
        dom.contains(&html_text(hostile)),
        "the name is shown as text"
    );
}

#[test]
fn html_is_refused_by_every_other_verb() {
    let store = SynthStore::plant();
    for verb in [
        &["df"][..],
        &["advise"],
        &["images"],
        &["orphans"],
        &["logs", "x"],
    ] {
        let mut args = vec!["--format", "html"];
        args.extend_from_slice(verb);
        let run = strata_on(&store.root, &args);
        assert_eq!(run.code, Some(2), "{run}");
        assert_eq!(
            run.stderr.trim(),
            format!(
                "strata: --format html is only for `du` (its treemap page), not `{}`",
                verb[0]
            ),
            "{run}"
        );
        assert!(run.stdout.is_empty(), "{run}");
    }
    // Nor one page for several stores.
    let run = strata(&["--all-users", "--format", "html", "du"]);
    assert_eq!(run.code, Some(2), "{run}");
    assert!(
        run.stderr.contains("--all-users has no HTML output"),
        "{run}"
    );
}

/// `--apparent-size` starts the page with apparent bytes.
#[test]
fn apparent_size_starts_the_page_in_apparent_bytes() {
    if !chromium_usable() {
        return;
    }
    let store = SynthStore::plant();
    let du = strata_on(&store.root, &["--format", "json", "du"]).json();
    let owners: Vec<&Value> = du["Owners"].as_array().expect("Owners").iter().collect();
    let work = tempfile::tempdir().expect("a temporary directory");
    let page = work.path().join("report.html");
    let run = strata_on(&store.root, &["--format", "html", "du", "--apparent-size"]);
    assert!(run.success(), "{run}");
    fs::write(&page, &run.stdout_bytes).expect("writing the report");
    let (dom, _) = Chromium::new().dump_dom(&page);
    check_areas(&Treemap::in_dom(&dom), &owners, "", "Apparent");
}

/// The net-log check is not vacuous: a page that loads an image over HTTP (from loopback's
/// discard port, where nothing answers) shows that request.
#[test]
fn the_net_log_sees_what_a_page_requests() {
    if !chromium_usable() {
        return;
    }
    let work = tempfile::tempdir().expect("a temporary directory");
    let page = work.path().join("probe.html");
    let probe = "http://127.0.0.1:9/probe.png";
    fs::write(
        &page,
        format!("<!DOCTYPE html><p>probe<img src=\"{probe}\">"),
    )
    .expect("the page");
    let (_, urls) = Chromium::new().dump_dom(&page);
    assert_eq!(urls, vec![probe.to_owned()]);
}

/// Clicked as a reader would: a kind's tag zooms into it (and says so in the URL), `up` zooms
/// out, `apparent` sizes the rectangles by apparent bytes, a table heading sorts, a row shows
/// its owner's details and marks its rectangle; the areas stay proportional throughout.
#[test]
fn zoom_measure_sort_and_details_by_clicks() {
    let Some((_, du, _work, page)) = fixture_page() else {
        return;
    };
    let owners: Vec<&Value> = du["Owners"].as_array().expect("Owners").iter().collect();
    let mut tools = Devtools::start(1400, 900);
    tools.open(&file_url(&page));
    check_areas(&Treemap::on_page(&mut tools), &owners, "", "Allocated");

    tools.eval("document.querySelector('.group[data-group=\"volume\"] .tag').click()");
    let volumes: Vec<&Value> = owners
        .iter()
        .copied()
        .filter(|o| o["Kind"] == "volume")
        .collect();
    check_areas(
        &Treemap::on_page(&mut tools),
        &volumes,
        "volume",
        "Allocated",
    );
    assert_eq!(tools.eval("location.hash"), "#volume");

    tools.eval("document.getElementById('up').click()");
    tools.eval("document.getElementById('measure-apparent').click()");
    check_areas(&Treemap::on_page(&mut tools), &owners, "", "Apparent");

    // Bytes, largest first by default; a click on the heading turns it.
    let column = "[...document.querySelectorAll('#owners-table tbody tr')].map((r) => Number(r.dataset.bytes))";
    let bytes = |v: Value| -> Vec<u64> { v.as_array().expect("bytes").iter().map(u).collect() };
    let descending = bytes(tools.eval(column));
    assert_eq!(descending.len(), owners.len());
    assert!(
        descending.windows(2).all(|w| w[0] >= w[1]),
        "{descending:?}"
    );
    tools.eval("document.querySelector('th[data-key=\"bytes\"]').click()");
    let ascending = bytes(tools.eval(column));
    assert!(ascending.windows(2).all(|w| w[0] <= w[1]), "{ascending:?}");

    let row = tools.eval(
        "(() => { const r = document.querySelector('#owners-table tbody tr:last-child'); r.click(); \
         return [r.dataset.owner, r.firstChild.textContent, document.querySelector('#details h2').textContent, \
         document.querySelector('.cell.selected').dataset.owner]; })()",
    );
    assert_eq!(row[1], row[2], "the details name the row's owner: {row}");
    assert_eq!(row[0], row[3], "the row's rectangle is marked: {row}");
}

/// On a containers/storage store the page's summary is `podman system df`'s, row for row what
/// `strata df` prints.
#[test]
fn a_podman_store_gets_podmans_summary() {
    let Some(store) = fixture::podman::stopped() else {
        return;
    };
    if !chromium_usable() {
        return;
    }
    let table = strata_on(&store.graphroot, &["df"]);
    assert!(table.success(), "{table}");
    assert!(
        table.stdout.lines().count() >= 4,
        "a header and three rows: {table}"
    );
    let work = tempfile::tempdir().expect("a temporary directory");
    let page = write_report(&store.graphroot, work.path());
    let (dom, urls) = Chromium::new().dump_dom(&page);
    assert_eq!(urls, Vec::<String>::new(), "the page requested nothing");
    assert!(
        dom.contains("<h2 id=\"df-title\">podman system df</h2>"),
        "the summary is podman's"
    );
    let rows = dom
        .split("<tbody>")
        .nth(1)
        .expect("the df table's body")
        .split("</tbody>")
        .next()
        .expect("its end");
    for line in table.stdout.lines().skip(1) {
        let cells: Vec<&str> = line
            .split("   ")
            .map(str::trim)
            .filter(|c| !c.is_empty())
            .collect();
        let shown = cells
            .iter()
            .enumerate()
            .map(|(i, c)| match i {
                0 => format!("<td>{c}</td>"),
                _ => format!("<td class=\"num\">{c}</td>"),
            })
            .collect::<String>();
        assert!(
            rows.contains(&shown),
            "the page's summary has `{line}`: {rows}"
        );
    }
}
