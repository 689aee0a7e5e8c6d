# The files report.html inlines, compiled into cohort_tuner so that a report
# can be written on a machine without them: Chart.js's UMD build (Debian's
# libjs-chart.js) and the page's own script and style sheet.
#
# COHORT_CHARTJS may point at another UMD build of Chart.js (3.x names it
# chart.min.js, 4.x chart.umd.js).
find_file(COHORT_CHARTJS NAMES chart.umd.js chart.min.js
  PATHS /usr/share/javascript/chart.js /usr/share/nodejs/chart.js/dist NO_DEFAULT_PATH
  DOC "Chart.js's UMD build, inlined into sweep reports")
if(NOT COHORT_CHARTJS OR NOT EXISTS "${COHORT_CHARTJS}")
  message(FATAL_ERROR "Chart.js was not found (COHORT_CHARTJS is \"${COHORT_CHARTJS}\"; looked for chart.umd.js "
    "and chart.min.js in /usr/share/javascript/chart.js): install Debian's libjs-chart.js (scripts/setup.sh does), "
    "or set COHORT_CHARTJS to a UMD build of Chart.js.")
endif()

# Reads `file` into the variable `name`, refusing what could not be inlined:
# text that would end the raw string literal, or the <script> element around it.
function(cohort_read_report_asset name file)
  file(READ "${file}" text)
  string(TOLOWER "${text}" lower)
  foreach(forbidden ")cohort_asset\"" "</script" "<!--")
    string(FIND "${lower}" "${forbidden}" at)
    if(NOT at EQUAL -1)
      message(FATAL_ERROR "${file} contains \"${forbidden}\", so it cannot be inlined into report.html.")
    endif()
  endforeach()
  set(${name} "${text}" PARENT_SCOPE)
  set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS "${file}")
endfunction()

cohort_read_report_asset(COHORT_REPORT_CHARTJS "${COHORT_CHARTJS}")
cohort_read_report_asset(COHORT_REPORT_SCRIPT "${CMAKE_CURRENT_LIST_DIR}/report.js")
cohort_read_report_asset(COHORT_REPORT_STYLE "${CMAKE_CURRENT_LIST_DIR}/report.css")
# configure_file writes only when the text changes, so a rerun of CMake does
# not recompile the 200 kB of Chart.js.
configure_file("${CMAKE_CURRENT_LIST_DIR}/assets.cpp.in" "${CMAKE_CURRENT_BINARY_DIR}/report/assets.cpp" @ONLY)
target_sources(cohort_tuner PRIVATE "${CMAKE_CURRENT_BINARY_DIR}/report/assets.cpp")
target_include_directories(cohort_tuner PRIVATE "${CMAKE_CURRENT_LIST_DIR}")
