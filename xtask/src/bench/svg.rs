//! One hand-written SVG bar chart per workload: the median of each runtime, grouped by
//! flavour, with a min–max whisker.

use std::fmt::Write as _;

use super::report::fmt_val;
use super::{Measurement, Workload, FLAVOURS, RUNTIMES};

const W: f64 = 640.0;
const H: f64 = 360.0;
const LEFT: f64 = 70.0;
const RIGHT: f64 = 20.0;
const TOP: f64 = 50.0;
const BOTTOM: f64 = 60.0;

fn colour(runtime: &str) -> &'static str {
    match runtime {
        "tulip" => "#d6336c",
        "tokio" => "#495057",
        "smol" => "#1c7ed6",
        r if r.starts_with("tulip-") => "#f783ac",
        _ => "#adb5bd",
    }
}

/// `s` escaped for SVG text (the soak's chart uses it too).
pub(crate) fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// A "nice" axis maximum at or above `v` (the soak's chart uses it too).
pub(crate) fn nice_max(v: f64) -> f64 {
    if v <= 0.0 || !v.is_finite() {
        return 1.0;
    }
    let mag = 10f64.powf(v.log10().floor());
    for step in [1.0, 2.0, 2.5, 5.0, 10.0] {
        if step * mag >= v {
            return step * mag;
        }
    }
    10.0 * mag
}

/// The chart of one workload.
pub(crate) fn chart(w: &Workload, rows: &[&Measurement]) -> String {
    let ok = |m: &&&Measurement| m.status == "ok";
    let top = rows
        .iter()
        .filter(ok)
        .filter_map(|m| m.max.or(m.median))
        .fold(0.0, f64::max);
    let ymax = nice_max(top * 1.05);
    let plot_h = H - TOP - BOTTOM;
    let plot_w = W - LEFT - RIGHT;
    let y = |v: f64| TOP + plot_h * (1.0 - (v / ymax).clamp(0.0, 1.0));
    let mut s = String::new();
    let _ = writeln!(
        s,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{W}\" height=\"{H}\" \
         viewBox=\"0 0 {W} {H}\" font-family=\"sans-serif\" font-size=\"12\">"
    );
    let _ = writeln!(s, "<rect width=\"{W}\" height=\"{H}\" fill=\"white\"/>");
    let better = if w.higher_is_better {
        "higher is better"
    } else {
        "lower is better"
    };
    let _ = writeln!(
        s,
        "<text x=\"{}\" y=\"24\" text-anchor=\"middle\" font-size=\"16\" font-weight=\"bold\">{} \
         — {} ({better})</text>",
        W / 2.0,
        esc(&w.name),
        esc(&w.unit)
    );
    // Grid and axis labels.
    for i in 0..=5 {
        let v = ymax * f64::from(i) / 5.0;
        let yy = y(v);
        let _ = writeln!(
            s,
            "<line x1=\"{LEFT}\" y1=\"{yy:.1}\" x2=\"{:.1}\" y2=\"{yy:.1}\" stroke=\"#dee2e6\"/>\
             <text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\" fill=\"#495057\">{}</text>",
            W - RIGHT,
            LEFT - 6.0,
            yy + 4.0,
            fmt_val(v)
        );
    }
    // The runtimes, then the workload's references (grey; pale pink for forms of tulip).
    let names: Vec<&str> = RUNTIMES
        .iter()
        .copied()
        .chain(w.refs.iter().map(|(n, _)| n.as_str()))
        .collect();
    let group_w = plot_w / FLAVOURS.len() as f64;
    let bar_w = group_w / (names.len() as f64 + 1.5);
    for (gi, fl) in FLAVOURS.iter().enumerate() {
        let gx = LEFT + group_w * gi as f64;
        let label = if *fl == "ct" {
            "single-threaded (ct)"
        } else {
            "2 workers (mt)"
        };
        let _ = writeln!(
            s,
            "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\" font-weight=\"bold\">{label}</text>",
            gx + group_w / 2.0,
            H - BOTTOM + 38.0
        );
        for (ri, rt) in names.iter().enumerate() {
            let x = gx + bar_w * (0.75 + ri as f64);
            let cx = x + bar_w / 2.0;
            let _ = writeln!(
                s,
                "<text x=\"{cx:.1}\" y=\"{:.1}\" text-anchor=\"middle\" font-size=\"{}\">{rt}</text>",
                H - BOTTOM + 18.0,
                if names.len() > 3 { 9 } else { 12 }
            );
            let m = rows.iter().find(|m| m.runtime == *rt && m.flavour == *fl);
            match m {
                Some(m) if m.status == "ok" && m.median.is_some() => {
                    let med = m.median.unwrap_or_default();
                    let _ = writeln!(
                        s,
                        "<rect x=\"{x:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{:.1}\" fill=\"{}\"/>",
                        y(med),
                        bar_w * 0.9,
                        (H - BOTTOM - y(med)).max(0.5),
                        colour(rt)
                    );
                    let wx = x + bar_w * 0.45;
                    if let (Some(lo), Some(hi)) = (m.min, m.max) {
                        let _ = writeln!(
                            s,
                            "<line x1=\"{wx:.1}\" y1=\"{:.1}\" x2=\"{wx:.1}\" y2=\"{:.1}\" \
                             stroke=\"black\"/><line x1=\"{:.1}\" y1=\"{:.1}\" x2=\"{:.1}\" \
                             y2=\"{:.1}\" stroke=\"black\"/><line x1=\"{:.1}\" y1=\"{:.1}\" \
                             x2=\"{:.1}\" y2=\"{:.1}\" stroke=\"black\"/>",
                            y(lo),
                            y(hi),
                            wx - 4.0,
                            y(lo),
                            wx + 4.0,
                            y(lo),
                            wx - 4.0,
                            y(hi),
                            wx + 4.0,
                            y(hi)
                        );
                    }
                    let _ = writeln!(
                        s,
                        "<text x=\"{wx:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text>",
                        y(m.max.unwrap_or(med).max(med)) - 5.0,
                        fmt_val(med)
                    );
                }
                Some(m) => {
                    let text = if m.status == "na" {
                        "n/a"
                    } else {
                        m.status.as_str()
                    };
                    let _ = writeln!(
                        s,
                        "<text x=\"{cx:.1}\" y=\"{:.1}\" text-anchor=\"middle\" fill=\"#868e96\">{text}</text>",
                        H - BOTTOM - 6.0
                    );
                }
                None => {}
            }
        }
    }
    let _ = writeln!(
        s,
        "<line x1=\"{LEFT}\" y1=\"{0:.1}\" x2=\"{1:.1}\" y2=\"{0:.1}\" stroke=\"black\"/>",
        H - BOTTOM,
        W - RIGHT
    );
    s.push_str("</svg>\n");
    s
}
