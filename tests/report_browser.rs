//! The report renders in a real browser (issue 19): headless Chromium opens
//! the report of the bundled multi-phase study and the five shared STS
//! studies, its console stays silent (but for a self-test of the page's
//! sorting and filtering script), the screenshot is not blank, and a study
//! page shows contours. Chromium is the Debian package `chromium` (`.ci/run`
//! installs it); without it the test fails under CI and skips loudly
//! otherwise. `CTRAD_CHROMIUM` names another binary.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

fn chromium() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("CTRAD_CHROMIUM") {
        return Some(PathBuf::from(p));
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    for name in ["chromium", "chromium-browser", "google-chrome"] {
        for dir in std::env::split_paths(&path) {
            let p = dir.join(name);
            if p.is_file() {
                return Some(p);
            }
        }
    }
    if std::env::var_os("CI").is_some() {
        panic!("chromium is required under CI (apt-get install chromium, or set CTRAD_CHROMIUM)");
    }
    eprintln!(
        "\n**********\nSKIPPING: no chromium in PATH (apt-get install chromium, or set CTRAD_CHROMIUM)\n**********\n"
    );
    None
}

/// Screenshot `page` (1400 × `height`) into `png`; the console lines.
fn screenshot(browser: &Path, page: &Path, png: &Path, height: u32) -> Vec<String> {
    let profile = png.with_extension("profile");
    let _ = std::fs::remove_dir_all(&profile);
    std::fs::create_dir_all(&profile).unwrap();
    let out = Command::new("timeout")
        .arg("180")
        .arg(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--enable-logging=stderr",
            "--v=0",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg(format!("--screenshot={}", png.display()))
        .arg(format!("--window-size=1400,{height}"))
        .arg(format!("file://{}", page.display()))
        .output()
        .unwrap();
    let _ = std::fs::remove_dir_all(&profile);
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(
        png.is_file(),
        "no screenshot of {}:\n{stderr}",
        page.display()
    );
    stderr
        .lines()
        .filter(|l| l.contains(":CONSOLE"))
        .map(str::to_string)
        .collect()
}

/// RGB pixels of a screenshot.
fn pixels(png_path: &Path) -> (usize, usize, Vec<[u8; 3]>) {
    let decoder = png::Decoder::new(std::io::BufReader::new(
        std::fs::File::open(png_path).unwrap(),
    ));
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).unwrap();
    let channels = info.color_type.samples();
    assert!(info.bit_depth == png::BitDepth::Eight && channels >= 3);
    let px = buf[..info.buffer_size()]
        .chunks(channels)
        .map(|c| [c[0], c[1], c[2]])
        .collect();
    (info.width as usize, info.height as usize, px)
}

fn assert_not_blank(png_path: &Path) {
    let (w, h, px) = pixels(png_path);
    let inked = px.iter().filter(|p| p.iter().any(|&c| c < 200)).count();
    let mut colours: Vec<[u8; 3]> = px.clone();
    colours.sort_unstable();
    colours.dedup();
    assert!(
        inked * 50 > w * h && colours.len() > 16,
        "{} looks blank: {inked} inked pixels of {}, {} colours",
        png_path.display(),
        w * h,
        colours.len()
    );
}

#[cfg(unix)]
#[test]
fn the_report_renders_in_headless_chromium() {
    let Some(testdata) = common::shared_testdata() else {
        return;
    };
    let Some(browser) = chromium() else {
        return;
    };
    let dir = common::fixtures::temp_dir("report-browser");
    let studies = dir.join("studies");
    std::fs::create_dir_all(&studies).unwrap();
    let bundled = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/studies/SYNTH_PANNET_001");
    std::os::unix::fs::symlink(&bundled, studies.join("SYNTH_PANNET_001")).unwrap();
    for k in 1..=5 {
        let id = format!("STS_00{k}");
        std::os::unix::fs::symlink(testdata.join("sts_ct").join(&id), studies.join(&id)).unwrap();
    }
    let report = dir.join("out/report.html");
    let o = Command::new(env!("CARGO_BIN_EXE_ctrad"))
        .arg("extract")
        .arg(&studies)
        .arg("-o")
        .arg(dir.join("out/features.parquet"))
        .arg("--report")
        .arg(&report)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{stderr}");
    assert!(
        stderr.contains("report: 6 studies, 11 entries (11 computed, 0 failed"),
        "{stderr}"
    );
    let html = std::fs::read_to_string(&report).unwrap();
    common::assert_no_external_url(&html, &report);
    assert_eq!(html.matches("data:image/png;base64,").count(), 33);

    // The page as it is, plus a self-test of its script: sort by volume,
    // filter on one study.
    let selftest = r#"<script>
window.addEventListener('load', function () {
  var th = document.querySelectorAll('#cohort thead th');
  var col = -1;
  for (var i = 0; i < th.length; i++) { if (th[i].textContent === 'volume (mL)') col = i; }
  sortBy(th[col]);
  var rows = Array.prototype.slice.call(document.querySelectorAll('#cohort tbody tr'));
  var v = rows.map(function (r) { return parseFloat(r.cells[col].getAttribute('data-v')); });
  var sorted = v.every(function (x, i) { return i === 0 || v[i - 1] <= x; });
  document.getElementById('q').value = 'STS_003';
  filterRows();
  var shown = rows.filter(function (r) { return r.style.display !== 'none'; }).length;
  console.log('SELFTEST sorted=' + sorted + ' shown=' + shown + ' rows=' + rows.length);
});
</script>
</body>"#;
    let tested = dir.join("out/selftest.html");
    std::fs::write(&tested, html.replace("</body>", selftest)).unwrap();
    let shot = dir.join("cohort.png");
    let console = screenshot(&browser, &tested, &shot, 1000);
    assert_eq!(console.len(), 1, "console: {console:#?}");
    assert!(
        console[0].contains("SELFTEST sorted=true shown=1 rows=11"),
        "{}",
        console[0]
    );
    assert_not_blank(&shot);

    // A study page (study pages split out) shows the contours.
    let split = dir.join("split/report.html");
    let o = Command::new(env!("CARGO_BIN_EXE_ctrad"))
        .arg("report")
        .arg(&studies)
        .arg("--table")
        .arg(dir.join("out/features.parquet"))
        .args(["--max-mb", "0", "-o"])
        .arg(&split)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    for (page, height) in [("SYNTH_PANNET_001", 1000), ("STS_001", 800)] {
        let path = dir.join(format!("split/report_studies/{page}.html"));
        let shot = dir.join(format!("{page}.png"));
        let console = screenshot(&browser, &path, &shot, height);
        assert!(console.is_empty(), "console: {console:#?}");
        assert_not_blank(&shot);
        let (_, _, px) = pixels(&shot);
        let contour = ctrad::report::view::CONTOUR_RGB;
        let red = px
            .iter()
            .filter(|p| (0..3).all(|c| p[c].abs_diff(contour[c]) <= 12))
            .count();
        assert!(red > 50, "{page}: only {red} contour-coloured pixels");
        if let Some(keep) = std::env::var_os("CTRAD_REPORT_SCREENSHOTS") {
            std::fs::create_dir_all(&keep).unwrap();
            std::fs::copy(&shot, Path::new(&keep).join(format!("{page}.png"))).unwrap();
        }
    }
    std::fs::remove_dir_all(&dir).unwrap();
}
