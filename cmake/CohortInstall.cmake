# Installs the library, its public headers and a CMake package:
#   find_package(Cohort) gives Cohort::core, Cohort::tuner, Cohort::cohort,
#   Cohort::strategies, Cohort::job and Cohort::sweep.
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

foreach(_dir core tuner framework strategies job sweep)
  install(DIRECTORY ${PROJECT_SOURCE_DIR}/${_dir}/include/ DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
endforeach()
# The fmt link (see CohortDependencies.cmake) is needed by consumers too.
install(CODE "file(MAKE_DIRECTORY \"\$ENV{DESTDIR}\${CMAKE_INSTALL_PREFIX}/${CMAKE_INSTALL_INCLUDEDIR}/cohort/fmt-shim\")
  file(CREATE_LINK \"${COHORT_FMT_INCLUDE_DIR}/fmt\"
       \"\$ENV{DESTDIR}\${CMAKE_INSTALL_PREFIX}/${CMAKE_INSTALL_INCLUDEDIR}/cohort/fmt-shim/fmt\" SYMBOLIC)")
install(TARGETS cohort_core cohort_tuner cohort cohort_strategies cohort_job cohort_sweep EXPORT CohortTargets
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
        RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR}
        INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(EXPORT CohortTargets NAMESPACE Cohort:: DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/Cohort)

configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/CohortConfig.cmake.in
  ${PROJECT_BINARY_DIR}/CohortConfig.cmake INSTALL_DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/Cohort)
write_basic_package_version_file(${PROJECT_BINARY_DIR}/CohortConfigVersion.cmake
  COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/CohortConfig.cmake ${PROJECT_BINARY_DIR}/CohortConfigVersion.cmake
        DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/Cohort)
