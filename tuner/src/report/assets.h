#pragma once
// The text report.html inlines, compiled in from files at build time
// (assets.cmake), so that writing a report needs nothing on disk.

namespace cohort::tuner::report::assets {

/// Chart.js's UMD build, license banner first.
const char* chartjs();
/// The page's script (report.js): reads the embedded data and draws.
const char* page_script();
/// The page's style sheet (report.css).
const char* page_style();

}  // namespace cohort::tuner::report::assets
